"""Engine-level settings that must hold on every connection."""
from __future__ import annotations

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


def configure_engine(engine: Engine) -> None:
    """Apply SQLite pragmas on each new connection; PostgreSQL needs nothing here."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the chat read while an import writes; busy_timeout waits
        # for a competing writer instead of failing with "database is locked".
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def changed_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (Session.execute is typed as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount
