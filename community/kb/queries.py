"""Read-side helpers for the help center."""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from community.extensions import db
from community.models import Article, ArticleStatus, KbCategory


def categories_with_articles() -> list[tuple[KbCategory, list[Article]]]:
    """Every category with its published articles, in display order."""
    cats = db.session.scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.name)).all()
    articles = db.session.scalars(
        select(Article).where(Article.status == ArticleStatus.published).order_by(Article.title)
    ).all()
    by_cat: dict[int | None, list[Article]] = {}
    for article in articles:
        by_cat.setdefault(article.category_id, []).append(article)
    return [(cat, by_cat.get(cat.id, [])) for cat in cats]


def uncategorised_articles() -> list[Article]:
    """Published articles without a category."""
    return list(
        db.session.scalars(
            select(Article)
            .where(Article.status == ArticleStatus.published, Article.category_id.is_(None))
            .order_by(Article.title)
        )
    )


def get_category_or_404(slug: str) -> KbCategory:
    """The category with slug, or 404."""
    cat = db.session.scalar(select(KbCategory).where(KbCategory.slug == slug))
    if cat is None:
        abort(404)
    return cat


def get_article_or_404(slug: str) -> Article:
    """A published article, or any article for staff; 404 otherwise (drafts stay hidden)."""
    article = db.session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        abort(404)
    if not article.is_published and not (current_user.is_authenticated and current_user.is_staff):
        abort(404)
    return article
