"""Help-center content: categories and articles (knowledge *for* customers)."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model
from community.models.base import RenderedBody, Timestamped, UTCDateTime, utcnow


class ArticleStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    archived = "archived"


class ArticleSource(str, enum.Enum):
    staff = "staff"
    imported = "imported"
    community = "community"  # promoted from an accepted forum answer
    ticket = "ticket"  # saved from a staff reply in chat


class KbCategory(Model):
    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    articles: Mapped[list[Article]] = relationship(back_populates="category")


class Article(Timestamped, RenderedBody, Model):
    __tablename__ = "articles"
    __table_args__ = (Index("ux_articles_origin_thread_id", "origin_thread_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    body_format: Mapped[str] = mapped_column(String(16), default="markdown")
    # Other ways customers ask for this article; the bot matches them too.
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[ArticleStatus] = mapped_column(
        Enum(ArticleStatus, name="article_status", native_enum=False, length=16), default=ArticleStatus.draft
    )
    source: Mapped[ArticleSource] = mapped_column(
        Enum(ArticleSource, name="article_source", native_enum=False, length=16), default=ArticleSource.staff
    )
    # Stable identity of imported articles so a re-import updates instead of duplicating.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    credited_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The forum thread a promoted community answer came from; its question leads every indexed passage.
    origin_thread_id: Mapped[int | None] = mapped_column(ForeignKey("forum_threads.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Raised when a shipped idea or new answer may have made the text stale.
    needs_review: Mapped[bool] = mapped_column(default=False)

    category: Mapped[KbCategory | None] = relationship(back_populates="articles")
    author = relationship("User", foreign_keys=[author_id])
    credited_user = relationship("User", foreign_keys=[credited_user_id])
    origin_thread = relationship("Thread", foreign_keys=[origin_thread_id])

    @property
    def is_published(self) -> bool:
        return self.status is ArticleStatus.published


class ArticleFeedback(Model):
    """A reader's answer to "Did this answer your question?" under an article."""

    __tablename__ = "article_feedback"
    __table_args__ = (Index("ix_article_feedback_article_created", "article_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    helpful: Mapped[bool] = mapped_column()
    # What the reader was looking for, when the article did not answer it (becomes a knowledge gap).
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    article: Mapped[Article] = relationship()
