"""The interface catalogues: where they live and how they are compiled.

The .po files are checked in; the .mo files Flask-Babel reads are built from them at install
(`make install` runs `pybabel compile`) and, for a fresh checkout that skipped it (tests, the
evaluation tool), by `ensure_compiled` whenever one is missing or older than its .po file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from flask_babel import get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def catalogue_paths() -> list[Path]:
    """Every checked-in .po file, one per interface language."""
    return sorted(TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def ensure_compiled() -> list[Path]:
    """Compile each .po whose .mo is missing or stale; return the .mo files written."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in catalogue_paths():
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)  # atomic, so a parallel test process never reads half a file
        written.append(mo)
    return written


def bound_gettext() -> dict[str, Callable[..., str]]:
    """gettext, ngettext and _ for one template render, bound to the current language's catalogue.

    Flask-Babel's template gettext finds the request's catalogue again on every call (the locale, its name, the
    domain's cache): a chat answer's fragment calls it some twenty times, 7 % of the server's time per answer
    under load (session 9, issue 21). Passed to render(), these shadow the environment's globals and behave as
    Jinja's new-style gettext does: autoescaped, always %-formatted, ngettext's count as num.
    """
    translations = get_translations()

    def gettext(context: Context, string: str, /, **variables: Any) -> str:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (our catalogue; variables are escaped)
        # Without a variable or a %, formatting changes nothing (and Markup's % was half of the call's cost).
        return text % variables if variables or "%" in text else text

    def ngettext(context: Context, singular: str, plural: str, num: int, /, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 (our catalogue; variables are escaped)
        return text % variables

    return {"gettext": pass_context(gettext), "_": pass_context(gettext), "ngettext": pass_context(ngettext)}
