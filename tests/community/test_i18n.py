"""The interface in two languages: every string marked, every message translated, the language chosen
as the account, the switcher and the browser say, and notifications in the recipient's language."""
from __future__ import annotations

import ast
import re
from html.parser import HTMLParser

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

from community.i18n import TRANSLATIONS
from tests.paths import REPO as PROJECT_ROOT

WORD = re.compile(r"[A-Za-z]{2,}")
# Names and units that read the same in every language.
UNTRANSLATED = {"CoKnow", "API", "JSON", "CSV", "KB", "MB", "Webhook", "Webhooks", "Markdown", "English"}


def _source_messages() -> set[str]:
    """The msgids pybabel extracts from the code and templates (as `make catalogues` does)."""
    method_map = [("community/**.py", "python"), ("bot/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
                "lazy_ngettext": (1, 2)}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(PROJECT_ROOT), method_map=method_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    found.discard("")
    return found


@pytest.fixture(scope="module")
def source_messages() -> set[str]:
    return _source_messages()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_catalogue_has_every_message_translated(lang, source_messages):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"
    entries = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in catalog if m.id}
    missing = sorted(source_messages - set(entries))
    assert not missing, f"{len(missing)} messages are not in the {lang} catalogue (run `make catalogues`): {missing[:10]}"
    empty = [key for key in source_messages if not all(_strings(entries[key]))]
    assert not empty, f"untranslated in {lang}: {sorted(empty)[:10]}"
    fuzzy = [key for key in source_messages if entries[key].fuzzy]
    assert not fuzzy, f"fuzzy in {lang}: {sorted(fuzzy)[:10]}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, f"placeholders differ from the English: {problems[:5]}"


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def test_catalogue_translates_a_plural_and_a_placeholder(app):
    from flask_babel import force_locale, gettext, ngettext

    with force_locale("zh"):
        assert ngettext("%(num)d vote", "%(num)d votes", 3) == "3 票"
        assert gettext("Welcome to the community, %(name)s!", name="小明") == "欢迎加入社区，小明！"
    with force_locale("en"):
        assert ngettext("%(num)d vote", "%(num)d votes", 1) == "1 vote"


class _VisibleText(HTMLParser):
    """Text and labelling attributes a reader sees, outside scripts, styles and code samples."""

    ATTRS = {"placeholder", "title", "aria-label", "alt", "label"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "pre", "code"):
            self.hidden += 1
        for name, value in attrs:
            if name in self.ATTRS and value:
                self._check(value)
        values = dict(attrs)
        if tag == "input" and values.get("type") in ("submit", "button"):
            self._check(values.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "pre", "code"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self._check(data)

    def _check(self, text: str) -> None:
        words = [w for w in WORD.findall(text) if w not in UNTRANSLATED]
        if words:
            self.found.append((self.getpos()[0], text.strip()))


def _template_skeleton(source: str, env: Environment) -> str:
    """The template's HTML with every {{ expression }} blanked and every {% tag %} dropped."""
    out = []
    for _lineno, kind, value in env.lex(source):
        if kind == "data":
            out.append(value)
        elif kind == "variable_begin":
            out.append("\u2063")  # an invisible stand-in, so attribute values stay attribute values
        else:
            out.append("\n" * value.count("\n"))
    return "".join(out)


def test_templates_mark_every_visible_string():
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only lexed, never rendered
    unmarked = []
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        parser = _VisibleText()
        parser.feed(_template_skeleton(path.read_text(encoding="utf-8"), env))
        parser.close()
        unmarked += [f"{path.relative_to(PROJECT_ROOT)}:{line}: {text[:60]!r}" for line, text in parser.found]
    assert not unmarked, "text not wrapped in {{ _() }}:\n" + "\n".join(unmarked)


# Calls whose string argument reaches a person: flash messages, error descriptions, form errors.
USER_FACING_CALLS = {"flash": 0, "ValidationError": 0, "abort": "description"}
MARKERS = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def test_python_user_facing_strings_are_marked():
    unmarked = []
    for package in ("community", "bot"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or _call_name(node) not in USER_FACING_CALLS:
                    continue
                where = USER_FACING_CALLS[_call_name(node)]
                args = ([node.args[where]] if isinstance(where, int) and len(node.args) > where
                        else [k.value for k in node.keywords if k.arg == where])
                for arg in args:
                    if isinstance(arg, (ast.Constant, ast.JoinedStr)) and WORD.search(ast.unparse(arg)):
                        unmarked.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: {ast.unparse(arg)[:60]}")
    assert not unmarked, "user-facing strings not wrapped in _():\n" + "\n".join(unmarked)


def _english_words(html: str) -> list[str]:
    body = re.sub(r"<(script|style|pre|code)\b.*?</\1>", "", html, flags=re.S)
    body = re.sub(r"<[^>]+>", "\n", body)
    return [w for w in WORD.findall(body) if w not in UNTRANSLATED]


@pytest.mark.parametrize("path", ["/", "/help/", "/ideas/", "/forum/", "/chat/", "/beta/", "/login", "/register"])
def test_pages_in_chinese_have_no_english_left(client, path):
    page = client.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert _english_words(html) == []


class _FreshLocaleClient:
    """Requests in a test share the test's app context, where Flask-Babel caches the chosen locale."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, *args, **kwargs):
        from tests.conftest import forget_user

        forget_user()
        return self.client.get(*args, **kwargs)


def test_language_comes_from_account_then_switcher_then_browser(app, client, auth, create_user):
    client = _FreshLocaleClient(client)
    english_browser = {"Accept-Language": "en-US,en;q=0.9"}
    chinese_browser = {"Accept-Language": "zh-CN,zh;q=0.9"}
    assert "帮助中心" in client.get("/help/", headers=chinese_browser).get_data(as_text=True)
    assert "Help center" in client.get("/help/", headers=english_browser).get_data(as_text=True)

    # The switcher sets a cookie for the visitor and goes back to the page it was pressed on.
    home = client.get("/help/", headers=english_browser).get_data(as_text=True)
    assert 'href="/language/zh?next=/help/"' in home
    switched = client.get("/language/zh?next=/help/", headers=english_browser)
    assert switched.status_code == 302 and switched.headers["Location"] == "/help/"
    assert "帮助中心" in client.get("/help/", headers=english_browser).get_data(as_text=True)
    # Only same-site targets, and only languages we have.
    assert client.get("/language/zh?next=//evil.example/").headers["Location"] == "/"
    assert client.get("/language/fr").status_code == 404

    # An account's own language beats the cookie and the browser.
    create_user(email="en@example.com")
    from community.extensions import db
    from community.models import User

    user = db.session.scalar(db.select(User).where(User.email == "en@example.com"))
    user.locale = "en"
    db.session.commit()
    auth.login("en@example.com")
    from tests.conftest import forget_user

    forget_user()
    page = client.get("/help/", headers=chinese_browser).get_data(as_text=True)
    assert "Help center" in page and 'class="language-switch"' not in page


def test_dates_follow_the_language(app):
    from datetime import datetime

    from flask_babel import force_locale, format_date, format_decimal

    when = datetime(2026, 3, 5, 14, 30)
    with force_locale("zh"):
        assert format_date(when, "long") == "2026年3月5日"
        assert format_decimal(12345.5) == "12,345.5"
    with force_locale("en"):
        assert format_date(when, "long") == "March 5, 2026"


def test_notifications_and_emails_are_in_each_recipients_language(app, create_user):
    from flask_babel import lazy_gettext as _l

    from community.extensions import db
    from community.models import Notification, OutgoingEmail, User
    from community.notifications.services import notify

    zh = create_user(email="zh@example.com", display_name="王小明")
    en = create_user(email="en@example.com")
    db.session.get(User, zh.id).locale = "zh"
    db.session.get(User, en.id).locale = "en"
    db.session.commit()
    notify([zh, en], "forum.reply", _l("%(name)s replied to “%(title)s”", name="李雷", title="导出笔记"),
           link="/forum/t/1")
    db.session.commit()
    titles = {n.user_id: n.title for n in db.session.scalars(db.select(Notification))}
    assert titles == {zh.id: "李雷 回复了“导出笔记”", en.id: "李雷 replied to “导出笔记”"}
    emails = {e.user_id: e for e in db.session.scalars(db.select(OutgoingEmail))}
    if emails:  # e-mail is on by default for replies; when it is, it is in the recipient's language
        assert "李雷 回复了“导出笔记”" in emails[zh.id].subject
        assert "通知设置" in emails[zh.id].body_text
        assert "replied to" in emails[en.id].subject
