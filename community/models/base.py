"""Shared column helpers for the typed models."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from community.database import UTCDateTime, as_utc

__all__ = ["RenderedBody", "Timestamped", "UTCDateTime", "as_utc", "utcnow"]


def utcnow() -> datetime:
    """Timezone-aware now; every stored time is UTC."""
    return datetime.now(UTC)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RenderedBody:
    """A Markdown body's sanitized HTML, made when the body is written (community.rendered), read on view.

    body_html_version is the renderer version that made it; a page whose stored HTML is missing or older
    renders live until the re-render job has caught up.
    """

    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_html_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
