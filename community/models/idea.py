"""Ideas (knowledge *from* customers, shaped together): votes, followers, comments, timeline, changelog."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON, Column, Enum, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model, db
from community.models.base import RenderedBody, Timestamped, UTCDateTime, utcnow


class IdeaStatus(str, enum.Enum):
    open = "open"
    under_review = "under_review"
    planned = "planned"
    in_progress = "in_progress"
    shipped = "shipped"
    declined = "declined"


# Voting stops once the outcome is decided; the counts then stay as the record of demand.
CLOSED_STATUSES = frozenset({IdeaStatus.shipped, IdeaStatus.declined})


def _status_enum(name: str) -> Enum:
    return Enum(IdeaStatus, name=name, native_enum=False, length=16)


class Idea(Timestamped, RenderedBody, Model):
    __tablename__ = "ideas"
    __table_args__ = (Index("ix_ideas_status_votes", "status", "vote_count"),
                      Index("ix_ideas_updated_at", "updated_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown, rendered through community.markup
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    category: Mapped[str | None] = mapped_column(String(80))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[IdeaStatus] = mapped_column(_status_enum("idea_status"), default=IdeaStatus.open)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Denormalised counters, kept exact by atomic SQL in community.ideas.services.
    vote_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    follower_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Stable identity of imported ideas so a re-import updates instead of duplicating.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    author = relationship("User", foreign_keys=[author_id])
    merged_into: Mapped[Idea | None] = relationship(remote_side=[id])

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES or self.merged_into_id is not None

    def __repr__(self) -> str:
        return f"<Idea {self.id} {self.status.value} {self.title!r}>"


class Vote(Model):
    __tablename__ = "idea_votes"
    __table_args__ = (
        UniqueConstraint("user_id", "idea_id"),
        Index("ix_idea_votes_idea_created", "idea_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The voter's value at the moment of the vote, so later segment changes do not rewrite history.
    weight: Mapped[float | None] = mapped_column(Float, default=1.0)
    segment: Mapped[str | None] = mapped_column(String(40))
    # Set when staff recorded the vote for a customer (from a call or an e-mail).
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", foreign_keys=[user_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    idea: Mapped[Idea] = relationship()


class IdeaFollower(Model):
    __tablename__ = "idea_followers"
    __table_args__ = (UniqueConstraint("user_id", "idea_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")


class IdeaComment(RenderedBody, Model):
    __tablename__ = "idea_comments"
    __table_args__ = (Index("ix_idea_comments_idea_created", "idea_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    official: Mapped[bool] = mapped_column(default=False)  # written by staff, shown as the company's voice
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    author = relationship("User")
    idea: Mapped[Idea] = relationship()
    revisions: Mapped[list[CommentRevision]] = relationship(
        back_populates="comment", order_by="CommentRevision.created_at.desc()", cascade="all, delete-orphan"
    )


class CommentRevision(Model):
    """The text a comment had before an edit; the newest revision is the previous text."""

    __tablename__ = "idea_comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("idea_comments.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    comment: Mapped[IdeaComment] = relationship(back_populates="revisions")
    edited_by = relationship("User")


class IdeaStatusChange(Model):
    """One step on an idea's public timeline."""

    __tablename__ = "idea_status_changes"
    __table_args__ = (Index("ix_idea_status_changes_idea_at", "idea_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    # "posted", "status" or "merged" (another idea folded into this one; reason names it).
    event: Mapped[str] = mapped_column(String(16), default="status")
    from_status: Mapped[IdeaStatus | None] = mapped_column(_status_enum("idea_status_from"))
    to_status: Mapped[IdeaStatus] = mapped_column(_status_enum("idea_status_to"))
    reason: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    by = relationship("User")


changelog_ideas = Table(
    "changelog_ideas",
    db.metadata,
    Column("entry_id", ForeignKey("changelog_entries.id", ondelete="CASCADE"), primary_key=True),
    Column("idea_id", ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
)


class ChangelogEntry(Model):
    __tablename__ = "changelog_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # Set when staff correct the text after publishing (nobody is notified again).
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    author = relationship("User")
    ideas: Mapped[list[Idea]] = relationship(secondary=changelog_ideas, order_by=Idea.title)


class ContentReview(Model):
    """A flag asking staff to re-read some content (an article, an answer) because something changed.

    Generic on purpose: ideas raise it when they ship; the forum and help center can raise it too.
    """

    __tablename__ = "content_reviews"
    __table_args__ = (Index("ix_content_reviews_source", "source_type", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    score: Mapped[float | None] = mapped_column(Float)
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    idea = relationship("Idea")
    resolved_by = relationship("User")
