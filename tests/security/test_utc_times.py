"""Every stored time comes back as an aware UTC datetime on SQLite and PostgreSQL, and the API says so."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, UTC

from sqlalchemy import DateTime

from community.database import UTCDateTime
from community.extensions import db
from community.models import Idea


def test_every_datetime_column_is_aware_utc():
    # index_entries belongs to knowledge_index (no Flask, none of our types): its own sync watermark.
    naive_capable = [f"{table.name}.{column.name}" for table in db.metadata.sorted_tables for column in table.columns
                     if isinstance(column.type, DateTime) and not isinstance(column.type, UTCDateTime)
                     and table.name != "index_entries"]
    # A new model's timestamps: mapped_column(UTCDateTime()) (or just Mapped[datetime]).
    assert naive_capable == []


def test_times_round_trip_as_utc_and_the_api_sends_the_offset(app, client, create_idea):
    idea = create_idea("Export reports to CSV")
    # An aware time in another zone is stored as the same instant and read back in UTC.
    idea.shipped_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8)))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Idea, idea.id)
    assert stored.shipped_at == datetime(2026, 1, 1, 19, 4, 5, tzinfo=UTC)
    assert stored.shipped_at.utcoffset() == timedelta(0) and stored.created_at.tzinfo is not None
    body = client.get(f"/api/v1/ideas/{idea.id}").get_json()
    assert body["created_at"].endswith("+00:00") and body["shipped_at"] == "2026-01-01T19:04:05+00:00"
