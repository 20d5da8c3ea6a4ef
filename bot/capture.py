"""Knowledge capture: questions the bot could not answer become tracked, grouped gaps.

A gap closes when an article covers it (written from the gap or linked to it); everyone who
asked is told. Gap grouping compares a new question with every open gap's distinct wordings by cosine
(single link), using GAP_MERGE_THRESHOLD measured on the development sets' intents.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, true

from community import config
from community.webhooks import emit_event, payloads
from community.customers.services import segments as customer_segments
from community.errors import Conflict, ValidationFailed
from community.extensions import db
from community.kb import services as kb
from community.models import Article, ArticleStatus, User, utcnow
from community.models.base import as_utc
from community.models.gap import GapSource, GapStatus, GapVariant, KnowledgeGap
from community.notifications.services import notify
from knowledge_index.embedder import get_embedder

# bench/gap_threshold.py: at 0.72 question pairs judged "the same need" are the same intent
# 85% (HWU64) / 94% (CLINC150) of the time; grouping precision 0.81 / 0.92.
GAP_MERGE_THRESHOLD: float = config.default("COKNOW_GAP_MERGE_THRESHOLD")
# Demand decays with a two-week half-life so last week's spike outranks last year's.
DEMAND_HALF_LIFE_DAYS = 14.0
MAX_QUESTION = 1000
# A question this close to a variant its gap holds repeats that variant's words (the last digits of a vector
# vary with the batch it was encoded in): stored, but never compared with again (GapVariant.matches).
REPEAT_SIMILARITY = 0.9999


def merge_threshold() -> float:
    """The configured grouping threshold (COKNOW_GAP_MERGE_THRESHOLD)."""
    return float(current_app.config["COKNOW_GAP_MERGE_THRESHOLD"])


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


# Every open gap's distinct wordings, through (status) and (gap_id, matches) indexes.
_OPEN_GAP_WORDINGS = (
    select(GapVariant.gap_id, GapVariant.vector)
    .join(KnowledgeGap, KnowledgeGap.id == GapVariant.gap_id)
    .where(KnowledgeGap.status == GapStatus.open, GapVariant.matches == true())
)


def find_gap_for(vector: np.ndarray, threshold: float) -> tuple[KnowledgeGap | None, float]:
    """The open gap with the variant closest to vector, if it clears threshold (and that closeness).

    Only a gap's distinct wordings are compared: repeats (matches false) would only be read again."""
    rows = db.session.execute(_OPEN_GAP_WORDINGS).all()
    if not rows:
        return None, 0.0
    sims = np.stack([_vector(r.vector) for r in rows]) @ vector
    best = int(np.argmax(sims))
    if float(sims[best]) < threshold:
        return None, float(sims[best])
    return db.session.get(KnowledgeGap, rows[best].gap_id), float(sims[best])


def record_gap(
    question: str,
    source: GapSource,
    *,
    user: User | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    vector: np.ndarray | None = None,
) -> KnowledgeGap:
    """Record that a customer asked something the knowledge base does not cover; flushes.

    vector: the question's embedding when the caller already has it (the bot's reply does).
    """
    question = " ".join(question.split())
    if not question:
        raise ValidationFailed(_("The question is empty."), {"question": [_("Required.")]})
    if vector is None or len(question) > MAX_QUESTION:
        vector = get_embedder().encode_query(question[:MAX_QUESTION])
    question = question[:MAX_QUESTION]
    gap, score = find_gap_for(vector, merge_threshold())
    now = utcnow()
    created = gap is None
    if gap is None:
        gap = KnowledgeGap(title=question[:500], first_asked_at=now, last_asked_at=now, ask_count=0)
        db.session.add(gap)
    gap.ask_count = (gap.ask_count or 0) + 1
    gap.last_asked_at = now
    db.session.add(GapVariant(
        gap=gap, question=question, vector=np.asarray(vector, "<f4").tobytes(), source=source,
        matches=created or score < REPEAT_SIMILARITY,
        user_id=user.id if user is not None else None, conversation_id=conversation_id, message_id=message_id,
    ))
    db.session.flush()
    if created:
        emit_event("gap.created", payloads.gap(gap))
    return gap


def record_thumbs_down(question: str, *, user: User | None, conversation_id: int | None,
                       message_id: int) -> KnowledgeGap | None:
    """A thumbs-down on an answer is a gap too, recorded once per answer however often it is re-voted."""
    already = db.session.scalar(select(GapVariant.id).where(
        GapVariant.message_id == message_id, GapVariant.source == GapSource.thumbs_down))
    if already is not None or not question.strip():
        return None
    return record_gap(question, GapSource.thumbs_down, user=user, conversation_id=conversation_id,
                      message_id=message_id)


@dataclass(frozen=True)
class ArticleSuggestion:
    article_id: int
    title: str
    score: float


@dataclass(frozen=True)
class RankedGap:
    gap: KnowledgeGap
    demand: float
    askers: int
    variants: int
    # Cosine of the gap's questions to the closest published article: how near the product's content it is.
    relevance: float = 0.0
    suggestions: tuple[ArticleSuggestion, ...] = ()
    # Askers per value segment (signed-in customers with a profile), most valuable first.
    segments: tuple[tuple[str, int], ...] = ()


def gap_vector(gap: KnowledgeGap) -> np.ndarray | None:
    """The normalized mean of the gap's stored question vectors (no model run)."""
    vectors = [_vector(v.vector) for v in gap.variants if v.vector]
    if not vectors:
        return None
    mean = np.mean(np.stack(vectors), axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 0 else None


def closest_articles(gap: KnowledgeGap, k: int = 3) -> tuple[ArticleSuggestion, ...]:
    """Published articles closest in meaning to what the gap's askers asked, best first."""
    from community import search

    vector = gap_vector(gap)
    if vector is None:
        return ()
    best: dict[str, ArticleSuggestion] = {}
    for hit in search.get_cache().search_vector(vector, k * 6, {"source_type": ("article",)}):
        if hit.source_id.isdigit() and hit.source_id not in best:
            best[hit.source_id] = ArticleSuggestion(int(hit.source_id), hit.title, round(float(hit.dense_score), 3))
    return tuple(sorted(best.values(), key=lambda s: -s.score)[:k])


def ranked_gaps(status: GapStatus = GapStatus.open, limit: int = 200) -> list[RankedGap]:
    """Gaps by demand times closeness to the product's content.

    Each ask counts its asker's segment weight (1 for visitors), halving every DEMAND_HALF_LIFE_DAYS;
    the sum is weighted by the cosine to the closest published article, so chatter far from anything
    the product covers ("tell me a joke") sinks below real questions asked as often.
    """
    now = utcnow()
    gaps = list(db.session.scalars(select(KnowledgeGap).where(KnowledgeGap.status == status)))
    segment_of = customer_segments.segments_of(v.user_id for gap in gaps for v in gap.variants)
    weight_of = customer_segments.weights()
    out = []
    for gap in gaps:
        demand = 0.0
        askers: set[object] = set()
        by_segment: dict[str, set[int]] = {}
        for v in gap.variants:
            age = (now - as_utc(v.created_at)).total_seconds() / 86400
            segment = segment_of.get(v.user_id) if v.user_id else None
            demand += math.pow(0.5, age / DEMAND_HALF_LIFE_DAYS) * weight_of.get(segment or "", 1.0)
            askers.add(v.user_id or ("conversation", v.conversation_id, v.id if v.conversation_id is None else 0))
            if segment and v.user_id:
                by_segment.setdefault(segment, set()).add(v.user_id)
        order = [s.value for s in customer_segments.SEGMENT_ORDER]
        segments = tuple((s, len(by_segment[s])) for s in order if s in by_segment)
        suggestions = closest_articles(gap)
        relevance = max(suggestions[0].score, 0.0) if suggestions else 0.0
        out.append(RankedGap(gap, round(demand, 3), len(askers), len(gap.variants), relevance, suggestions,
                             segments))
    out.sort(key=lambda r: (-(r.demand * max(r.relevance, 0.05)), -r.gap.ask_count, r.gap.id))
    return out[:limit]


def dismiss_gaps(gaps: list[KnowledgeGap], reason: str, staff: User) -> int:
    """Dismiss several gaps at once with one reason (a group of off-topic chatter); returns how many."""
    if not gaps:
        raise ValidationFailed(_("Select the gaps to dismiss."), {"gap": [_("Select at least one.")]})
    for gap in gaps:
        dismiss_gap(gap, reason, staff)
    return len(gaps)


def gap_questions(gap: KnowledgeGap) -> list[str]:
    """The distinct wordings of a gap, first asked first."""
    seen: set[str] = set()
    out = []
    for v in gap.variants:
        key = v.question.casefold()
        if key not in seen:
            seen.add(key)
            out.append(v.question)
    return out


def _close(gap: KnowledgeGap, article: Article, staff: User | None) -> None:
    gap.status = GapStatus.answered
    gap.article_id = article.id
    gap.resolved_at = utcnow()
    gap.resolved_by_id = staff.id if staff else None
    askers = {v.user_id for v in gap.variants if v.user_id}
    link = kb.article_url(article)
    notify(askers, "gap.answered", _l("Your question now has an answer: %(title)s", title=article.title),
           link=link, body=gap.title, actor=staff)
    emit_event("gap.closed", {"gap": payloads.gap(gap), "resolution": "answered", "article": payloads.article(article)})


def link_gap_to_article(gap: KnowledgeGap, article: Article, staff: User | None = None) -> Article:
    """Teach an existing article the gap's wordings (re-indexed at once) and close the gap."""
    if gap.status is not GapStatus.open:
        raise Conflict(_("This gap is already closed."))
    kb.add_questions(article, gap_questions(gap))
    if article.status is ArticleStatus.published:
        _close(gap, article, staff)
    else:
        gap.article_id = article.id  # closes when the draft is published
    db.session.flush()
    return article


def write_article_for_gap(gap: KnowledgeGap, staff: User, **fields: Any) -> Article:
    """A new article written from a gap: saved (as a draft first) pointing at the gap, then published
    if asked, which closes the gap and tells its askers. fields are services.save_article's."""
    if gap.status is not GapStatus.open:
        raise Conflict(_("This gap is already closed."))
    status = fields.pop("status")
    publishing = status is ArticleStatus.published
    article = kb.save_article(None, author=staff, status=ArticleStatus.draft if publishing else status, **fields)
    gap.article_id = article.id
    db.session.flush()
    if publishing:
        kb.publish_article(article, staff)
    return article


def close_gaps_for(article: Article, staff: User | None = None) -> int:
    """On publishing an article, close the open gaps waiting on it (or on the thread it was promoted
    from) and tell their askers."""
    if article.status is not ArticleStatus.published:
        return 0
    waiting = KnowledgeGap.article_id == article.id
    if article.origin_thread_id is not None:
        waiting = or_(waiting, KnowledgeGap.thread_id == article.origin_thread_id)
    gaps = list(db.session.scalars(
        select(KnowledgeGap).where(waiting, KnowledgeGap.status == GapStatus.open).order_by(KnowledgeGap.id)
    ))
    for gap in gaps:
        _close(gap, article, staff)
    db.session.flush()
    return len(gaps)


def dismiss_gap(gap: KnowledgeGap, reason: str, staff: User) -> None:
    """Close a gap on purpose (spam, out of scope), keeping its record and the reason."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(_("Say why the gap is dismissed."), {"reason": [_("Required.")]})
    if gap.status is not GapStatus.open:
        raise Conflict(_("This gap is already closed."))
    gap.status = GapStatus.dismissed
    gap.dismissed_reason = reason[:2000]
    gap.resolved_at = utcnow()
    gap.resolved_by_id = staff.id
    db.session.flush()
    emit_event("gap.closed", {"gap": payloads.gap(gap), "resolution": "dismissed", "article": None})


def _article_not_helpful(article: Article, *, question: str, user_id: int | None) -> None:
    user = db.session.get(User, user_id) if user_id is not None else None
    record_gap(question, GapSource.article_feedback, user=user)


def register_hooks() -> None:
    """What a reader says an article did not answer is a knowledge gap, like the bot's abstains."""
    from community.hooks import article_not_helpful

    article_not_helpful.connect(_article_not_helpful)
