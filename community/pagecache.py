"""Whole pages for signed-out visitors, kept per process (Discourse's anonymous page cache).

Most views of a help center or a community are by people who are not signed in, and they all see the same
page. A view marked `@anonymous_page` is rendered once per key and served from memory after that:

- key: path + query string + interface language + the content version;
- the content version goes up after every committed write through the ORM session that touches a table a
  page may show (QUIET_TABLES are the ones no such page shows), so this process shows a write at once;
  other processes' writes show after COKNOW_PAGE_CACHE_SECONDS at most, the age a kept page may reach;
- the visitor's own CSRF token is punched into the kept page on every serve (it is stored with a
  placeholder), so two visitors never share one;
- signed-in visitors, API token callers, and visitors whose session holds anything but a CSRF token (a
  flash message, "you already answered this article", a chat) get the page rendered for them, and a page
  whose rendering flashed, set a cookie or did not answer 200 is never kept.
"""
from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

MAX_PAGES = 500
MAX_PAGE_BYTES = 512 * 1024
CSRF_PLACEHOLDER = b"\x00coknow-csrf-token\x00"  # NUL never occurs in a rendered page
# Session keys every visitor may have without changing what a page shows them.
NEUTRAL_SESSION_KEYS = frozenset({"csrf_token", "_permanent", "_fresh", "_id"})
# Tables no cached page shows: writes to them alone leave the kept pages as they are.
QUIET_TABLES = frozenset({
    "login_sessions", "staff_presence", "job_runs", "chat_messages", "conversations", "notifications",
    "notification_preferences", "notification_settings", "outgoing_emails", "webhook_deliveries",
    "webhook_attempts", "forum_thread_reads", "customer_views", "api_tokens",
})
_ANY_TABLE = "*"
_TABLES_KEY = "coknow.pagecache.tables"
_QUIET_KEY = "coknow.pagecache.quiet"


class _Version:
    """The content version of this process: one more after each committed write that pages may show."""

    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()

    def bump(self) -> None:
        with self.lock:
            self.value += 1


content_version = _Version()


@dataclass(frozen=True)
class _Page:
    body: bytes
    content_type: str
    version: int
    made: float


class PageCache:
    """The kept pages of one app, least recently used first out."""

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.pages: OrderedDict[tuple[Any, ...], _Page] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[Any, ...], version: int) -> _Page | None:
        with self.lock:
            page = self.pages.get(key)
            if page is None:
                return None
            if page.version != version or time.monotonic() - page.made > self.seconds:
                del self.pages[key]
                return None
            self.pages.move_to_end(key)
            return page

    def put(self, key: tuple[Any, ...], page: _Page) -> None:
        with self.lock:
            self.pages[key] = page
            self.pages.move_to_end(key)
            while len(self.pages) > MAX_PAGES:
                self.pages.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.pages.clear()


def quiet_writes() -> None:
    """Mark the current transaction as changing nothing a kept page must show at once (a view counter)."""
    from community.extensions import db

    db.session.info[_QUIET_KEY] = True


def _record(session: Session, tables: set[str]) -> None:
    session.info.setdefault(_TABLES_KEY, set()).update(tables)


def _table_of(instance: object) -> str:
    table = getattr(instance, "__table__", None)
    return getattr(table, "name", _ANY_TABLE)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    changed = {_table_of(o) for o in session.new} | {_table_of(o) for o in session.deleted}
    changed |= {_table_of(o) for o in session.dirty if session.is_modified(o, include_collections=False)}
    if changed:
        _record(session, changed)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        _record(state.session, {getattr(getattr(statement, "table", None), "name", _ANY_TABLE)})
    elif isinstance(statement, TextClause):
        words = str(statement).lstrip().split(None, 1)
        if words and words[0].lower() in ("insert", "update", "delete", "with", "truncate"):
            _record(state.session, {_ANY_TABLE})


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    tables = session.info.pop(_TABLES_KEY, set())
    quiet = session.info.pop(_QUIET_KEY, False)
    if tables - QUIET_TABLES and not quiet:
        content_version.bump()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # Only the outermost transaction's rollback: a savepoint's leaves the recorded tables (more, not fewer, bumps).
    if not session.in_transaction():
        session.info.pop(_TABLES_KEY, None)
        session.info.pop(_QUIET_KEY, None)


def init_app(app: Flask) -> None:
    seconds = int(app.config.get("COKNOW_PAGE_CACHE_SECONDS", 0))
    app.extensions["coknow.pagecache"] = PageCache(seconds) if seconds > 0 else None


def _cache() -> PageCache | None:
    return current_app.extensions.get("coknow.pagecache")


def _anonymous_visitor() -> bool:
    if request.method not in ("GET", "HEAD") or request.headers.get("Authorization"):
        return False
    if not set(session.keys()) <= NEUTRAL_SESSION_KEYS:
        return False  # a flash to show, feedback given, a chat: this visitor's page is their own
    return not current_user.is_authenticated


def _keepable(response: Any) -> bool:
    return (response.status_code == 200 and response.mimetype == "text/html" and not response.direct_passthrough
            and "Set-Cookie" not in response.headers and set(session.keys()) <= NEUTRAL_SESSION_KEYS)


def anonymous_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve view's page to signed-out visitors from the page cache (see the module's docstring)."""

    @functools.wraps(view)
    def cached(*args: Any, **kwargs: Any) -> Any:
        cache = _cache()
        if cache is None or not _anonymous_visitor():
            return view(*args, **kwargs)
        # The version is read before the view reads the database: a write committed meanwhile makes
        # this rendering's key stale at once rather than keeping old content under the new version.
        version = content_version.value
        key = (request.path, request.query_string, str(get_locale()))
        page = cache.get(key, version)
        if page is not None:
            body = page.body.replace(CSRF_PLACEHOLDER, generate_csrf().encode())
            response = current_app.response_class(body, content_type=page.content_type)
            response.headers["X-Page-Cache"] = "hit"
            return response
        response = make_response(view(*args, **kwargs))
        response.headers["X-Page-Cache"] = "miss"
        if _keepable(response):
            body = response.get_data()
            token = g.get("csrf_token")
            if token:
                body = body.replace(token.encode(), CSRF_PLACEHOLDER)
            if len(body) <= MAX_PAGE_BYTES:
                cache.put(key, _Page(body, response.content_type, version, time.monotonic()))
        return response

    return cached
