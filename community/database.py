"""Engine-level settings that must hold on every connection."""
from __future__ import annotations

from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result


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
