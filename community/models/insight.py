"""Insights for product teams: theme runs and their themes, evidence on ideas, cross-type links, digests."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.database import UTCDateTime
from community.extensions import Model
from community.models.base import utcnow


class ThemeRun(Model):
    """One clustering of the chosen sources over a period; the newest finished run is what pages show."""

    __tablename__ = "theme_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")  # queued / running / done / failed
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    period_days: Mapped[int | None] = mapped_column(Integer)  # None: everything stored
    previous_run_id: Mapped[int | None] = mapped_column(ForeignKey("theme_runs.id", ondelete="SET NULL"))
    n_items: Mapped[int] = mapped_column(Integer, default=0)
    n_themes: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)  # clustering only
    error: Mapped[str] = mapped_column(Text, default="")
    scheduled: Mapped[bool] = mapped_column(default=False)
    job_id: Mapped[int | None] = mapped_column(Integer)  # its JobRun (no foreign key: the tables migrate apart)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    themes: Mapped[list[Theme]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                 order_by="Theme.size.desc()")
    created_by = relationship("User")


class Theme(Model):
    """A group of items about one thing. ``identity`` is shared by the same theme across runs."""

    __tablename__ = "themes"
    __table_args__ = (Index("ix_themes_identity", "identity"), UniqueConstraint("run_id", "identity"))

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(32))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # A staff name beats the keywords and is carried to the theme's successor in each run.
    name: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer, default=0)
    previous_size: Mapped[int | None] = mapped_column(Integer)  # None: new in this run
    # Shares of sampled items: {"positive": .., "neutral": .., "negative": ..}
    sentiment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_count: Mapped[int] = mapped_column(Integer, default=0)
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)

    run: Mapped[ThemeRun] = relationship(back_populates="themes")

    @property
    def label(self) -> str:
        return self.name or ", ".join(self.keywords[:3]) or f"#{self.id}"


class ThemeItem(Model):
    """One clustered item (a thread, idea, gap, report...) in one run's theme."""

    __tablename__ = "theme_items"
    __table_args__ = (
        UniqueConstraint("run_id", "source_type", "source_id"),
        Index("ix_theme_items_theme", "theme_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    similarity: Mapped[float] = mapped_column(Float, default=0.0)  # to the theme's centroid: examples first

    theme: Mapped[Theme] = relationship()


class Evidence(Model):
    """A thread, reply, chat message, gap or report that staff attached to an idea as evidence."""

    __tablename__ = "idea_evidence"
    __table_args__ = (UniqueConstraint("idea_id", "source_type", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")  # a snapshot, so a deleted source still reads
    excerpt: Mapped[str] = mapped_column(Text, default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    customer = relationship("User", foreign_keys=[customer_id])
    added_by = relationship("User", foreign_keys=[added_by_id])


class ItemLink(Model):
    """Staff confirmed that two items of any types are about the same thing (a cross-type duplicate)."""

    __tablename__ = "insight_links"
    __table_args__ = (UniqueConstraint("a_type", "a_id", "b_type", "b_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    a_type: Mapped[str] = mapped_column(String(32))
    a_id: Mapped[str] = mapped_column(String(64))
    b_type: Mapped[str] = mapped_column(String(32))
    b_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="linked")  # linked / dismissed
    score: Mapped[float] = mapped_column(Float, default=0.0)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DigestSubscription(Model):
    """A staff member who gets the weekly themes digest by e-mail."""

    __tablename__ = "insight_digest_subscriptions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
