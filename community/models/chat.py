"""Support chat: conversations, their messages and the thumbs on bot answers.

Every customer message, every bot reply (kind, cited article, confidence) and every
thumbs up/down is kept: knowledge *about* customers that insights read later.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model
from community.models.base import UTCDateTime, utcnow


class ConversationStatus(str, enum.Enum):
    bot = "bot"
    waiting_staff = "waiting_staff"
    with_staff = "with_staff"
    closed = "closed"


def new_public_id() -> str:
    return uuid.uuid4().hex


class Conversation(Model):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_user_last", "user_id", "last_message_at"),
        # With last_message_at: the visitor's newest conversation is one index probe. On session_key alone,
        # SQLite's planner chose ix_conversations_user_last for `user_id IS NULL` and walked every anonymous
        # conversation (0.29 ms at 842 rows, growing with each; 0.01 ms with this index: issue 21).
        Index("ix_conversations_session_key_last", "session_key", "last_message_at"),
        Index("ix_conversations_status_handoff", "status", "handoff_requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What clients see; the integer id stays internal.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Anonymous visitors: a random token kept in their signed Flask session.
    session_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ConversationStatus] = mapped_column(
        Enum(ConversationStatus, name="conversation_status", native_enum=False, length=16),
        default=ConversationStatus.bot,
    )
    handoff_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The person from support answering it (set when they join; cleared when handed back to the bot).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    staff_joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User", foreign_keys=[user_id])
    staff = relationship("User", foreign_keys=[staff_id])
    messages: Mapped[list[ChatMessage]] = relationship(
        back_populates="conversation", order_by="ChatMessage.id",
        cascade="all, delete-orphan", passive_deletes=True,
    )


class ChatMessage(Model):
    __tablename__ = "chat_messages"
    __table_args__ = (
        # A reconnecting client re-sending the same client_id gets the stored reply, not a second one.
        UniqueConstraint("conversation_id", "client_id", name="uq_chat_messages_conversation_client"),
        Index("ix_chat_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_chat_messages_created_at", "created_at"),
        Index("ix_chat_messages_kind_created", "message_kind", "created_at"),
        # A re-sent message's stored reply, and deleting a message (its replies' reply_to_id is set NULL).
        Index("ix_chat_messages_reply_to", "reply_to_id"),
        # A conversation's last answered question (a follow-up's context) without sorting its messages.
        Index("ix_chat_messages_conversation_role", "conversation_id", "role", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # customer / bot / staff
    text: Mapped[str] = mapped_column(Text, default="")
    # The customer message a bot reply answers (pairs questions with answers for insights).
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("chat_messages.id", ondelete="SET NULL"))
    # bot: answer / clarify / abstain / handoff; staff: joined / reply / closed / handback
    reply_kind: Mapped[str | None] = mapped_column(String(16))
    question: Mapped[str | None] = mapped_column(Text)  # the question as the engine resolved it
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    confidence: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # Reply.to_dict()
    latency_ms: Mapped[float | None] = mapped_column(Float)
    client_id: Mapped[str | None] = mapped_column(String(64))
    # What a customer message (and the bot's reply to it) was: question / feature_request / bug_report / other
    # (bot.kinds); None for messages stored before kinds were recognised and for staff messages.
    message_kind: Mapped[str | None] = mapped_column(String(16))
    # The staff member who wrote a staff message.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    article = relationship("Article")
    author = relationship("User")
    feedback: Mapped[AnswerFeedback | None] = relationship(back_populates="message", uselist=False)


class AnswerFeedback(Model):
    __tablename__ = "answer_feedback"
    __table_args__ = (Index("ix_answer_feedback_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One vote per bot message: a second vote replaces the first.
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"), unique=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))  # incorrect / outdated / incomplete / not_my_question
    comment: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text, default="")
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    message: Mapped[ChatMessage] = relationship(back_populates="feedback")
