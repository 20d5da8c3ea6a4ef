"""The interface catalogues: where they live and how they are compiled.

The .po files are checked in; the .mo files Flask-Babel reads are built from them at install
(`make install` runs `pybabel compile`) and, for a fresh checkout that skipped it (tests, the
evaluation tool), by `ensure_compiled` whenever one is missing or older than its .po file.
"""
from __future__ import annotations

from pathlib import Path

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
