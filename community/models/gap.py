"""Knowledge gaps: questions the bot could not answer (or answered badly), grouped by meaning."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model
from community.models.base import UTCDateTime, utcnow


class GapStatus(str, enum.Enum):
    open = "open"
    answered = "answered"  # an article now covers it (written or linked)
    dismissed = "dismissed"


class GapSource(str, enum.Enum):
    abstain = "abstain"  # the bot said it could not answer
    thumbs_down = "thumbs_down"  # the bot answered and the customer said it did not help
    manual = "manual"
    article_feedback = "article_feedback"  # a reader said a help article did not answer their question


class KnowledgeGap(Model):
    __tablename__ = "knowledge_gaps"
    __table_args__ = (Index("ix_knowledge_gaps_status_last", "status", "last_asked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The first wording, shown as the gap's title; variants keep every other wording.
    title: Mapped[str] = mapped_column(String(500))
    status: Mapped[GapStatus] = mapped_column(
        Enum(GapStatus, name="gap_status", native_enum=False, length=16), default=GapStatus.open
    )
    ask_count: Mapped[int] = mapped_column(Integer, default=0)
    first_asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("forum_threads.id", ondelete="SET NULL"))
    dismissed_reason: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    variants: Mapped[list[GapVariant]] = relationship(
        back_populates="gap", order_by="GapVariant.id", cascade="all, delete-orphan", passive_deletes=True
    )
    article = relationship("Article")
    thread = relationship("Thread")


class GapVariant(Model):
    """One time a customer asked: their words, who, where, and the embedding used to group it."""

    __tablename__ = "knowledge_gap_variants"
    __table_args__ = (
        Index("ix_knowledge_gap_variants_gap_matches", "gap_id", "matches"),
        Index("ix_knowledge_gap_variants_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    gap_id: Mapped[int] = mapped_column(ForeignKey("knowledge_gaps.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # Whether a new question is compared with this wording (bot.capture.find_gap_for): false for a repeat of
    # a wording the gap already holds, whose vector would add nothing but a row to read on every abstain.
    matches: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    source: Mapped[GapSource] = mapped_column(Enum(GapSource, name="gap_source", native_enum=False, length=16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("chat_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    gap: Mapped[KnowledgeGap] = relationship(back_populates="variants")
    user = relationship("User")
