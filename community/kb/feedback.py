"""Readers' "Did this answer your question?" on help articles, and what it adds up to."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from community.errors import ValidationFailed
from community.extensions import db
from community.hooks import article_not_helpful
from community.models import Article, ArticleFeedback

MAX_COMMENT = 500


@dataclass(frozen=True)
class FeedbackTally:
    helpful: int
    not_helpful: int

    @property
    def total(self) -> int:
        return self.helpful + self.not_helpful


def give_feedback(article: Article, *, helpful: bool, comment: str = "", user_id: int | None = None) -> ArticleFeedback:
    """Record a reader's verdict on article; what a reader missed becomes a knowledge gap; flushes."""
    if not article.is_published:
        raise ValidationFailed(_("This article is not published."), {"article": [_("Not published.")]})
    comment = " ".join((comment or "").split())
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(
            _("Please keep it under %(n)d characters.", n=MAX_COMMENT),
            {"comment": [_("At most %(n)d characters.", n=MAX_COMMENT)]},
        )
    feedback = ArticleFeedback(article_id=article.id, user_id=user_id, helpful=helpful,
                               comment="" if helpful else comment)
    db.session.add(feedback)
    db.session.flush()
    if not helpful and feedback.comment:
        article_not_helpful.send(article, question=feedback.comment, user_id=user_id)
    return feedback


def tally(article_id: int) -> FeedbackTally:
    """How many readers found the article helpful and not."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(case((ArticleFeedback.helpful.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((ArticleFeedback.helpful.is_(False), 1), else_=0)), 0),
        ).where(ArticleFeedback.article_id == article_id)
    ).one()
    return FeedbackTally(int(row[0]), int(row[1]))
