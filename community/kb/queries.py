"""Read-side helpers for the help center."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import load_only, selectinload

from community.extensions import db
from community.pagination import Page, keyset_page
from community.models import AnswerFeedback, Article, ArticleSource, ArticleStatus, GapVariant, KbCategory, KnowledgeGap


_LIST_COLUMNS = load_only(Article.id, Article.slug, Article.title, Article.category_id, Article.status)


INDEX_PER_CATEGORY = 6  # titles per category on the help center's front page; its category page has them all
CATEGORY_PER_PAGE = 50


def categories_with_articles(shown: int = INDEX_PER_CATEGORY) -> list[tuple[KbCategory, list[Any], int]]:
    """Every category in display order, with its first `shown` published articles (by title) and how many it
    has: two statements, however many articles there are (the rest are on the category's own pages)."""
    cats = db.session.scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.name)).all()
    published = (select(Article.id,
                        func.row_number().over(partition_by=Article.category_id,
                                               order_by=(Article.title, Article.id)).label("position"),
                        func.count().over(partition_by=Article.category_id).label("in_category"))
                 .where(Article.status == ArticleStatus.published, Article.category_id.is_not(None)).subquery())
    # The index shows titles and links: plain rows of those (no ORM objects with deferred bodies to set up).
    rows = db.session.execute(
        select(Article.id, Article.slug, Article.title, Article.category_id, published.c.in_category)
        .join(published, published.c.id == Article.id)
        .where(published.c.position <= shown).order_by(Article.title, Article.id)
    ).all()
    by_cat: dict[int | None, list[Any]] = {}
    counts: dict[int | None, int] = {}
    for row in rows:
        by_cat.setdefault(row.category_id, []).append(row)
        counts[row.category_id] = row.in_category
    return [(cat, by_cat.get(cat.id, []), counts.get(cat.id, 0)) for cat in cats]


def category_articles(category: KbCategory, after: str | None = None, before: str | None = None,
                      page: int = 1) -> Page[Article]:
    """One page of a category's published articles by title (cursor pages, see community.pagination)."""
    stmt = select(Article).options(_LIST_COLUMNS).where(Article.category_id == category.id,
                                                        Article.status == ArticleStatus.published)
    return keyset_page(stmt, [(Article.title, False), (Article.id, False)], "title", per_page=CATEGORY_PER_PAGE,
                       page=page, after=after, before=before)


def uncategorised_articles() -> list[Article]:
    """Published articles without a category."""
    return list(
        db.session.scalars(
            select(Article).options(_LIST_COLUMNS)
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


@dataclass(frozen=True)
class ArticleHit:
    article: Article
    excerpt: str  # the best-matching passage, plain text


SEARCH_LIMIT = 20
# Dense retrieval ranks everything; a result list shows only what is about the query: passages close
# enough in meaning on their own, and not far below the best match.
MIN_DENSE = 0.3
BELOW_BEST = 0.25


def search_articles(query: str, limit: int = SEARCH_LIMIT) -> list[ArticleHit]:
    """Published articles for what a reader typed, best first, each with its best passage."""
    from community import search

    query = " ".join(query.split())[:300]
    if not query:
        return []
    hits = search.search_documents(query, limit, source_types=("article",), filters={"visibility": "public"})
    if hits:
        floor = max(MIN_DENSE, max(h.dense_score for h in hits) - BELOW_BEST)
        hits = [h for h in hits if h.dense_score >= floor]
    ids = [int(h.source_id) for h in hits if h.source_id.isdigit()]
    if not ids:
        return []
    rows = db.session.scalars(
        select(Article).where(Article.id.in_(ids), Article.status == ArticleStatus.published)
    ).all()
    by_id = {a.id: a for a in rows}
    return [ArticleHit(by_id[int(h.source_id)], h.text) for h in hits if int(h.source_id) in by_id]


def related_articles(article: Article, k: int = 4) -> list[Article]:
    """Published articles closest in meaning to article, from the vectors already stored for it."""
    from community import search

    try:
        matches = search.related_documents("article", article.id, source_types=("article",), k=k,
                                           min_score=0.3, filters={"visibility": "public"})
    except Exception:  # related links are a nicety; the article must render without the index
        current_app.logger.warning("related articles unavailable", exc_info=True)
        return []
    ids = [int(m.source_id) for m in matches if m.source_id.isdigit()]
    if not ids:
        return []
    rows = db.session.scalars(
        select(Article).where(Article.id.in_(ids), Article.status == ArticleStatus.published)
    ).all()
    by_id = {a.id: a for a in rows}
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class ArticleFilters:
    q: str = ""
    status: str = ""
    source: str = ""
    category: str = ""
    needs_review: bool = False


def manage_articles(filters: ArticleFilters, page: int = 1, per_page: int = 50) -> Page[Article]:
    """The staff article list: every status, filtered, newest change first, one page at a time."""
    from sqlalchemy import func, or_

    stmt = select(Article)
    if filters.q:
        like = f"%{filters.q.lower()}%"
        stmt = stmt.where(or_(func.lower(Article.title).like(like), func.lower(Article.slug).like(like)))
    if filters.status in {s.value for s in ArticleStatus}:
        stmt = stmt.where(Article.status == ArticleStatus(filters.status))
    if filters.source in {s.value for s in ArticleSource}:
        stmt = stmt.where(Article.source == ArticleSource(filters.source))
    if filters.category == "-":
        stmt = stmt.where(Article.category_id.is_(None))
    elif filters.category:
        stmt = stmt.join(Article.category).where(KbCategory.slug == filters.category)
    if filters.needs_review:
        stmt = stmt.where(Article.needs_review.is_(True))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.scalars(
        stmt.options(selectinload(Article.category))
        .order_by(Article.updated_at.desc(), Article.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), total, page, per_page)


def learned_questions(article: Article) -> list[str]:
    """The article's alternative questions that customers taught it: wordings confirmed by a thumbs-up on
    the bot's answer, or asked in a knowledge gap that staff linked to the article (for staff to review)."""
    confirmed = db.session.scalars(select(AnswerFeedback.question).where(
        AnswerFeedback.article_id == article.id, AnswerFeedback.helpful.is_(True))).all()
    from_gaps = db.session.scalars(select(GapVariant.question).join(KnowledgeGap).where(
        KnowledgeGap.article_id == article.id)).all()
    taught = {q.casefold() for q in (*confirmed, *from_gaps)}
    return [q for q in article.questions or [] if q.casefold() in taught]
