"""The board: lists, trending, categories, the roadmap, similar ideas and likely duplicates."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import Subquery, Text, case, cast, func, or_, select

from community import search
from community.errors import ValidationFailed
from community.extensions import db
from community.models import (
    CLOSED_STATUSES, Idea, IdeaStatus, Vote, utcnow,
)
from community.pagination import Page, SortKey, keyset_page
from community.tags import normalize_tags
from community.ideas.services.rules import MIN_TITLE, SORTS, STATUS_ORDER, TRENDING_DAYS, parse_status


def similar_ideas(text: str, k: int = 5, exclude_id: int | None = None) -> list[tuple[Idea, float]]:
    """Existing ideas that mean the same as text (for "vote instead of posting a duplicate")."""
    text = (text or "").strip()[:500]
    if len(text) < MIN_TITLE:
        return []
    exclude = [("idea", str(exclude_id))] if exclude_id is not None else []
    matches = search.similar(text, source_types=["idea"], k=k, exclude=exclude,
                             min_score=search.DUPLICATE_THRESHOLD, filters={"visibility": "public"})
    ids = [int(m.source_id) for m in matches if m.source_id.isdigit()]
    ideas = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(ids), Idea.merged_into_id.is_(None)))}
    return [(ideas[int(m.source_id)], m.score) for m in matches if m.source_id.isdigit() and int(m.source_id) in ideas]


def duplicate_pairs(limit: int = 50) -> list[tuple[Idea, Idea, float]]:
    """Pairs of unmerged ideas the index thinks mean the same thing, each pair once, best first."""
    ideas = db.session.scalars(select(Idea).where(Idea.merged_into_id.is_(None),
                                                  Idea.status.not_in(list(CLOSED_STATUSES)))).all()
    by_id = {i.id: i for i in ideas}
    # Each idea's stored title vector against every stored passage of the others, in one matrix
    # product: the vectors were computed when the ideas were written, so a page load runs no model
    # and no index search (as before: an idea's title meets the others' passages, 5 best per idea).
    passages = [(int(sid), kind, vec) for sid, kind, vec in search.stored_passages("idea", by_id) if sid.isdigit()]
    titles = [(sid, vec) for sid, kind, vec in passages if kind == "title"]
    best: dict[tuple[int, int], float] = {}
    if titles and passages:
        owners = np.array([sid for sid, _kind, _vec in passages])
        scores = np.vstack([vec for _sid, vec in titles]) @ np.vstack([vec for _sid, _kind, vec in passages]).T
        for row, (idea_id, _vec) in zip(scores, titles, strict=True):
            per_other: dict[int, float] = {}
            for owner, score in zip(owners.tolist(), row.tolist(), strict=True):
                if owner != idea_id and score >= search.DUPLICATE_THRESHOLD and score > per_other.get(owner, -1.0):
                    per_other[owner] = score
            for other, score in sorted(per_other.items(), key=lambda kv: -kv[1])[:5]:
                key = (min(idea_id, other), max(idea_id, other))
                best[key] = max(best.get(key, 0.0), score)
    pairs = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [(by_id[a], by_id[b], score) for (a, b), score in pairs]


def trending_scores(now: datetime | None = None) -> Subquery:
    """Per-idea trending score subquery (idea_id, score).

    Each vote from the last 14 days counts (14 − d) / 14, d being its age in whole days: a vote
    today counts 1, one from 13 days ago 1/14, older votes 0. Stored as the integer sum of (14 − d)
    so SQLite and PostgreSQL compute it identically from bound cut-off times.
    """
    now = now or utcnow()
    steps = [(Vote.created_at >= now - timedelta(days=d + 1), TRENDING_DAYS - d) for d in range(TRENDING_DAYS)]
    return (select(Vote.idea_id, func.sum(case(*steps, else_=0)).label("score"))
            .where(Vote.created_at >= now - timedelta(days=TRENDING_DAYS))
            .group_by(Vote.idea_id).subquery())


def list_ideas(sort: str = "trending", status: str | None = None, category: str | None = None,
               tag: str | None = None, q: str | None = None, page: int = 1, per_page: int = 20,
               after: str | None = None, before: str | None = None, count: bool = True) -> Page[Idea]:
    """One page of the board: unmerged ideas, filtered and sorted.

    Pages by cursor (after / before a row, see community.pagination) or, for old links, by page number;
    count=False skips counting every matching idea (pages that only link to their neighbours)."""
    if sort not in SORTS:
        message = _("Unknown sort order.")
        raise ValidationFailed(message, {"sort": [message]})
    page = max(1, page)
    per_page = min(max(1, per_page), 100)
    stmt = select(Idea).where(Idea.merged_into_id.is_(None))
    if status:
        stmt = stmt.where(Idea.status == parse_status(status))
    if category:
        stmt = stmt.where(Idea.category == category.strip().lower())
    if tag:
        tags = normalize_tags([tag])
        if tags:
            # Tags are slugs (no quotes), so matching the JSON text is exact and portable.
            stmt = stmt.where(cast(Idea.tags, Text).like(f'%"{tags[0]}"%'))
    if q and q.strip():
        stmt = stmt.where(or_(Idea.title.ilike(f"%{q.strip()}%"), Idea.body.ilike(f"%{q.strip()}%")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0 if count else None
    keys: list[SortKey]
    if sort == "trending":
        scores = trending_scores()
        stmt = stmt.outerjoin(scores, scores.c.idea_id == Idea.id)
        keys = [(func.coalesce(scores.c.score, 0), True), (Idea.vote_count, True), (Idea.id, True)]
    elif sort == "top":
        keys = [(Idea.vote_count, True), (Idea.id, True)]
    elif sort == "new":
        keys = [(Idea.created_at, True), (Idea.id, True)]
    else:
        keys = [(case({s: n for n, s in enumerate(STATUS_ORDER)}, value=Idea.status), False),
                (Idea.vote_count, True), (Idea.id, True)]
    return keyset_page(stmt, keys, sort, per_page=per_page, page=page, after=after, before=before, total=total)


def categories() -> list[str]:
    """Categories in use, for filters and the submit form."""
    return list(db.session.scalars(select(Idea.category).where(Idea.category.is_not(None))
                                          .distinct().order_by(Idea.category)))


def roadmap(shipped_days: int = 90, per_column: int = 50) -> dict[IdeaStatus, list[Idea]]:
    """The public roadmap: planned, in progress, and recently shipped."""
    base = select(Idea).where(Idea.merged_into_id.is_(None))
    since = utcnow() - timedelta(days=shipped_days)
    return {
        IdeaStatus.planned: list(db.session.scalars(base.where(Idea.status == IdeaStatus.planned)
                                                    .order_by(Idea.vote_count.desc()).limit(per_column))),
        IdeaStatus.in_progress: list(db.session.scalars(base.where(Idea.status == IdeaStatus.in_progress)
                                                        .order_by(Idea.vote_count.desc()).limit(per_column))),
        IdeaStatus.shipped: list(db.session.scalars(base.where(Idea.status == IdeaStatus.shipped,
                                                               Idea.shipped_at >= since)
                                                    .order_by(Idea.shipped_at.desc()).limit(per_column))),
    }
