"""Forum: categories, threads, replies, tags, likes, edit history, flags and read markers."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model, db
from community.models.base import RenderedBody, UTCDateTime, utcnow


class PostKind(str, enum.Enum):
    thread = "thread"
    reply = "reply"


class FlagStatus(str, enum.Enum):
    open = "open"
    hidden = "hidden"  # staff agreed and hid the post
    dismissed = "dismissed"


thread_tags = Table(
    "forum_thread_tags",
    db.Model.metadata,
    Column("thread_id", ForeignKey("forum_threads.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("forum_tags.id", ondelete="CASCADE"), primary_key=True),
)


class ForumCategory(Model):
    __tablename__ = "forum_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    # Staff-only categories are invisible (404) to customers and anonymous visitors.
    staff_only: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    threads: Mapped[list[Thread]] = relationship(back_populates="category")


class Tag(Model):
    __tablename__ = "forum_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)


class Thread(RenderedBody, Model):
    __tablename__ = "forum_threads"
    # One index per list order (community.forum.services.listing), with and without a category, so a list
    # page reads its rows in order instead of sorting every thread (2 s at 500,000 threads without them).
    __table_args__ = (Index("ix_forum_threads_category_activity", "category_id", "last_activity_at"),
                      Index("ix_forum_threads_updated_at", "updated_at", "id"),
                      Index("ix_forum_threads_latest", "pinned", "last_activity_at", "id"),
                      Index("ix_forum_threads_category_latest", "category_id", "pinned", "last_activity_at", "id"),
                      Index("ix_forum_threads_new", "created_at", "id"),
                      Index("ix_forum_threads_category_new", "category_id", "created_at", "id"),
                      Index("ix_forum_threads_top", "reply_count", "views", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("forum_categories.id", ondelete="RESTRICT"))
    # Null for imported posts whose author the source does not name, or deleted accounts.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Any change to the row (a reply, an edit, moderation); what API clients sync by (updated_since).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    pinned: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # use_alter: threads and replies point at each other; the constraint is added after both exist.
    accepted_reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("forum_replies.id", ondelete="SET NULL", use_alter=True)
    )
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)

    category: Mapped[ForumCategory] = relationship(back_populates="threads")
    author = relationship("User", foreign_keys=[author_id])
    tags: Mapped[list[Tag]] = relationship(secondary=thread_tags, order_by=Tag.name)
    replies: Mapped[list[Reply]] = relationship(
        back_populates="thread", foreign_keys="Reply.thread_id", order_by="Reply.id"
    )
    accepted_reply: Mapped[Reply | None] = relationship(foreign_keys=[accepted_reply_id], post_update=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Reply(RenderedBody, Model):
    __tablename__ = "forum_replies"
    __table_args__ = (Index("ix_forum_replies_thread_order", "thread_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("forum_threads.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    body: Mapped[str] = mapped_column(Text)  # Markdown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden: Mapped[bool] = mapped_column(default=False)
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    # The source's vote score for imported replies; kept for ranking, not shown as likes.
    score: Mapped[int] = mapped_column(Integer, default=0)

    thread: Mapped[Thread] = relationship(back_populates="replies", foreign_keys=[thread_id])
    author = relationship("User", foreign_keys=[author_id])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ReplyLike(Model):
    __tablename__ = "forum_reply_likes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("forum_replies.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PostRevision(Model):
    """The text of a post before an edit: the visible edit history."""

    __tablename__ = "forum_revisions"
    __table_args__ = (Index("ix_forum_revisions_post", "post_kind", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_kind: Mapped[PostKind] = mapped_column(Enum(PostKind, name="forum_post_kind", native_enum=False, length=8))
    post_id: Mapped[int] = mapped_column(Integer)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    old_title: Mapped[str | None] = mapped_column(String(200))
    old_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    editor = relationship("User", foreign_keys=[editor_id])


class Flag(Model):
    __tablename__ = "forum_flags"
    # One open report per person and post; a repeat updates the reason.
    __table_args__ = (
        UniqueConstraint("post_kind", "post_id", "reporter_id"),
        Index("ix_forum_flags_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_kind: Mapped[PostKind] = mapped_column(Enum(PostKind, name="forum_post_kind", native_enum=False, length=8))
    post_id: Mapped[int] = mapped_column(Integer)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[FlagStatus] = mapped_column(
        Enum(FlagStatus, name="forum_flag_status", native_enum=False, length=12), default=FlagStatus.open
    )
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reporter = relationship("User", foreign_keys=[reporter_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])


class ThreadRead(Model):
    """When a signed-in user last opened a thread: drives unread markers."""

    __tablename__ = "forum_thread_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("forum_threads.id", ondelete="CASCADE"), primary_key=True)
    last_read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
