"""Shared fixtures: a migrated database per backend, an app per test, clients and factories.

Every test that uses `app` runs once on SQLite and, when TEST_DATABASE_URL is
set (make test sets it), once more on PostgreSQL in a fresh schema.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from flask import g
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from community import create_app
from community.extensions import db, socketio
from community.i18n import ensure_compiled

ensure_compiled()  # a checkout that skipped `make install` still has its .mo catalogues

# Help-center fixtures (help_center, force_clarify) used by the bot, capture and browser tests.
pytest_plugins = ["tests.bot.chat_fixtures"]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_available(url: str) -> str | None:
    """None when PostgreSQL answers, else the reason."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as exc:  # any connection failure means "not available"
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COKNOW_INSTANCE_DIR": str(instance), "TESTING": True})
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database URL for one backend, shared by the session."""
    instance = tmp_path_factory.mktemp("instance")
    if request.param == "sqlite":
        url = f"sqlite:///{instance / 'test.db'}"
        _migrate(url, instance)
        yield url
        return
    reason = _pg_available(PG_URL)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"PostgreSQL is required (REQUIRE_SERVICES=1) but unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable: {reason}")
    schema = f"coknow_test_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url_s = url.render_as_string(hide_password=False)
    try:
        _migrate(url_s, instance)
        yield url_s
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


_EMPTYING: dict[str, str] = {}


def _emptying_script(engine) -> str:
    """The statements that empty every table of the migrated schema, children first (made once per database)."""
    url = engine.url.render_as_string(hide_password=False)
    if url not in _EMPTYING:
        names = set(inspect(engine).get_table_names())
        tables = [t.name for t in reversed(db.metadata.sorted_tables) if t.name in names]
        script = "".join(f'DELETE FROM "{name}";' for name in tables)  # noqa: S608 -- our own table names
        if engine.dialect.name == "postgresql":
            # Ids start from 1 again, as in a new database (tests may rely on the first row's id).
            script += ("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
                       "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace;")
        _EMPTYING[url] = script
    return _EMPTYING[url]


def _empty_all_tables() -> None:
    """Remove every row so the next test starts from a migrated, empty database.

    DELETE, not TRUNCATE: the tables hold a few rows, and TRUNCATE of ~80 tables on PostgreSQL makes new
    files for each table and index (0.8 s per test, a quarter of the suite's time); DELETE of a few rows
    takes milliseconds. SQLite reuses ids from 1 once a table is empty (no AUTOINCREMENT tables).
    """
    script = _emptying_script(db.engine)
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.exec_driver_sql(script)  # one round trip: psycopg runs a parameterless script as it is
        else:
            for statement in script.split(";"):
                if statement:
                    conn.exec_driver_sql(statement)


@pytest.fixture
def app(database, tmp_path, request):
    """A fresh app on the session's database, emptied after the test.

    `@pytest.mark.app_config(NAME=value)` adds settings that must be there when the app is built.
    """
    marker = request.node.get_closest_marker("app_config")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database,
            "COKNOW_INSTANCE_DIR": str(tmp_path),
            "COKNOW_INDEX_DIR": str(tmp_path / "index"),
            # Cheap password hashes (Django's advice for test suites): 2 ms instead of 70 per hash or sign-in.
            "COKNOW_PASSWORD_COST": 10,
            **(marker.kwargs if marker else {}),
        }
    )
    app.test_client_class = ScriptClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


class ScriptClient(FlaskClient):
    """A test client that sends the session's CSRF token with API writes, as the site's own scripts do.

    `csrf_header=False` (per call) sends a write without it, as another page would.
    """

    def open(self, *args, csrf_header: bool = True, **kwargs):
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "")
        method = (kwargs.get("method") or "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if (csrf_header and path.startswith("/api/") and method in {"POST", "PUT", "PATCH", "DELETE"}
                and not any(k.lower() in ("x-csrftoken", "authorization") for k in headers)):
            headers["X-CSRFToken"] = self.csrf_header_token()
        return super().open(*args, headers=headers, **kwargs)

    def csrf_header_token(self) -> str:
        """The signed token a page of this session would carry (what flask-wtf's generate_csrf makes)."""
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)


@pytest.fixture
def client(app):
    return app.test_client()


class QueryCount:
    """The SQL statements run while counting (Indico's query-count fixture)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as queries: ...` then assert on queries.count: catches N+1 pages."""
    @contextmanager
    def counting() -> Iterator[QueryCount]:
        seen = QueryCount()

        def record(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "PRAGMA")):
                seen.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting


def forget_user() -> None:
    """Requests and socket events in a test share the test's app context, and Flask-Login (user) and
    Flask-WTF (CSRF token) cache per-session values on g: drop them so each client is itself."""
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    g.pop("_flask_babel", None)  # the locale Flask-Babel chose for the previous request


@pytest.fixture
def open_socket(app, client):
    """Open a Socket.IO test client on a namespace for a Flask test client (the test's own by default),
    after loading a page as a browser does (page=None skips it); every socket is closed after the test."""
    opened = []

    def make(namespace: str, flask_client=None, page: str | None = "/"):
        flask_client = flask_client or client
        if page is not None:
            forget_user()
            flask_client.get(page)
        forget_user()
        socket = socketio.test_client(app, namespace=namespace, flask_test_client=flask_client)
        opened.append((socket, namespace))
        return socket

    yield make
    for socket, namespace in opened:
        if socket.is_connected(namespace):
            forget_user()
            socket.disconnect(namespace=namespace)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def backend(database) -> str:
    """The backend the current test runs on."""
    return make_url(database).get_backend_name()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token of client's session, read from a page as a browser would."""
    page = client.get(path)
    match = CSRF_META.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class Auth:
    """Log a test client in and out through the real forms."""

    def __init__(self, client) -> None:
        self.client = client

    def login(self, email: str, password: str = "correct horse battery"):
        token = csrf_token(self.client, "/login")
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client)})


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


@pytest.fixture
def create_user(app):
    """Factory: create_user(email=..., role=...) commits and returns a user."""
    from community.auth.services import register_user
    from community.models import Role

    counter = iter(range(1, 10_000))

    def make(email: str | None = None, display_name: str | None = None, role: Role | str = Role.customer,
             password: str = "correct horse battery"):
        n = next(counter)
        user = register_user(
            email or f"user{n}@example.com", display_name or f"User {n}", password, role=Role(role)
        )
        db.session.commit()
        return user

    return make


def pytest_collection_modifyitems(config, items):
    # Browser tests exercise the UI, not the database: once, on SQLite, is enough.
    keep, drop = [], []
    for item in items:
        if item.get_closest_marker("browser") and "[postgresql" in item.nodeid:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # CI must show that both databases really ran, not just that nothing failed.
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            params = nodeid.rpartition("[")[2].rstrip("]").split("-") if nodeid.endswith("]") else []
            for name in BACKENDS:
                if name in params:
                    counts.setdefault(name, {}).setdefault(outcome, 0)
                    counts[name][outcome] += 1
    if counts:
        terminalreporter.section("database backends")
        for name in BACKENDS:
            parts = ", ".join(f"{n} {o}" for o, n in sorted(counts.get(name, {}).items())) or "no tests"
            terminalreporter.write_line(f"{name}: {parts}")


@pytest.fixture
def busy(app):
    """Lift the posting limits: for tests that write many posts."""
    app.config.update(FORUM_NEW_POSTS_PER_HOUR=1000, FORUM_POSTS_PER_HOUR=1000, FORUM_NEW_ACCOUNT_POSTS=0,
                      FORUM_NEW_ACCOUNT_HOURS=0, COKNOW_RATE_LIMITS=False)
