"""Engine-level settings that must hold on every connection."""
from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime, event
from sqlalchemy.engine import CursorResult, Dialect, Engine, Result
from sqlalchemy.types import TypeDecorator


# PostgreSQL's integer: no row id (or offset we compute) goes beyond it. Larger numbers in a URL or a
# payload are refused (404, or 422 naming the field) instead of reaching the database, which failed with 500.
MAX_ROW_ID = 2**31 - 1


def page_offset(page: int, per_page: int) -> int:
    """The OFFSET of page (1-based), capped so a huge page number lists nothing instead of overflowing."""
    return min(max(page, 1) - 1, MAX_ROW_ID // max(per_page, 1)) * per_page


def as_utc(moment: datetime) -> datetime:
    """The same instant as an aware UTC datetime (SQLite hands stored times back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always an aware UTC datetime in Python, on SQLite and PostgreSQL alike.

    SQLite stores no zone and handed times back naive; PostgreSQL handed them back in the session's zone.
    The API promised ISO 8601 with an offset: every column of every model uses this type.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).astimezone(UTC)


# SQLite's busy_timeout, in seconds: how long a writer waits for another to finish.
BUSY_TIMEOUT = 10
# Statements that take SQLite's write lock (the driver opens the transaction right before them).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_WRITING = "coknow_sqlite_writer"


def configure_engine(engine: Engine, green: bool = False) -> None:
    """Apply SQLite pragmas on each new connection; PostgreSQL needs nothing here.

    green: the process serves with gevent's greenlets (community.concurrency); see `_take_turns_writing`.
    """
    if engine.dialect.name != "sqlite":
        return
    if green:
        _take_turns_writing(engine)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the chat read while an import writes; busy_timeout waits
        # for a competing writer instead of failing with "database is locked".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def changed_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (Session.execute is typed as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount


def _take_turns_writing(engine: Engine) -> None:
    """Under gevent, this process's writers wait for each other's SQLite write lock cooperatively.

    SQLite's own busy wait sleeps in C: under gevent it would stop the whole process, including the
    greenlet that holds the write lock (paused while the encoder runs in a thread, say), which then
    cannot commit until the wait ends with "database is locked" 10 s later. So a connection takes a
    process-wide turn before its transaction's first write and gives it back when the transaction ends;
    other processes (a job worker) are still met by SQLite's busy wait, which they can end.
    """
    turn = threading.Semaphore(1)  # patched by gevent: a waiting greenlet lets the others run

    @event.listens_for(engine, "before_cursor_execute")
    def _take(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(_WRITING) or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        if not turn.acquire(timeout=BUSY_TIMEOUT):
            raise sqlite3.OperationalError("database is locked (another write of this process took too long)")
        conn.info[_WRITING] = True

    def _give_back(info: dict[str, Any]) -> None:
        if info.pop(_WRITING, False):
            turn.release()

    @event.listens_for(engine, "commit")
    def _committed(conn: Any) -> None:
        _give_back(conn.info)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Any) -> None:
        _give_back(conn.info)

    # A connection returned to the pool, or dropped, without commit or rollback through the Connection.
    @event.listens_for(engine, "reset")
    def _reset(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        _give_back(record.info)

    @event.listens_for(engine, "close")
    def _closed(_dbapi_connection: Any, record: Any) -> None:
        _give_back(record.info)
