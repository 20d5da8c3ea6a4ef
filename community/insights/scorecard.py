"""The knowledge scorecard: the four flows of customer knowledge, their weekly trend, and the items behind each number.

Every metric is a function from a time window to the items it counts (and, for a rate, the items
it divides by), so the number on the card and the list behind its link can never disagree.
Features built later (beta reports) add their metrics with ``register_metric``.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.extensions import db
from community.models import (
    AnswerFeedback,
    Article,
    ArticleFeedback,
    ArticleSource,
    ArticleStatus,
    ChatMessage,
    Conversation,
    GapStatus,
    Idea,
    KnowledgeGap,
    Thread,
)
from community.models.base import as_utc, utcnow

WINDOW_DAYS = 28
WEEKS = 8
FLOWS = (("acquisition", _l("Acquisition")), ("sharing", _l("Sharing")), ("application", _l("Application")),
         ("co_creation", _l("Co-creation")))


@dataclass(frozen=True)
class Row:
    """One item behind a number."""

    title: str
    url: str
    when: datetime
    counted: bool = True  # for a rate: whether it is in the numerator


@dataclass(frozen=True)
class Metric:
    key: str
    flow: str
    label: object
    rows: Callable[[datetime, datetime], list[Row]]
    rate: bool = False  # a share of the rows (counted / all) rather than a count
    detail: Callable[[list[Row]], str] | None = None  # a second figure, e.g. median days


_METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> None:
    """Add a metric to the scorecard (features register theirs at start-up)."""
    _METRICS[metric.key] = metric


def metric(key: str) -> Metric | None:
    """The metric called key, or None."""
    return _METRICS.get(key)


def _value(m: Metric, rows: list[Row]) -> float | None:
    if not m.rate:
        return float(len(rows))
    return sum(r.counted for r in rows) / len(rows) if rows else None


def _fmt(m: Metric, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0%}" if m.rate else f"{value:.0f}"


@dataclass
class Figure:
    metric: Metric
    value: str
    series: list[float]
    count: int
    extra: str


@dataclass
class Card:
    flows: list[tuple[str, object, list[Figure]]]
    weeks: list[datetime]


def build(now: datetime | None = None) -> Card:
    """Every metric over the last WINDOW_DAYS, with its value in each of the last WEEKS weeks."""
    end = now or utcnow()
    start = end - timedelta(days=WINDOW_DAYS)
    week_ends = [end - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    flows = []
    for flow, label in FLOWS:
        figures = []
        for m in (m for m in _METRICS.values() if m.flow == flow):
            rows = m.rows(start, end)
            history = m.rows(week_ends[0] - timedelta(weeks=1), end)
            series = []
            for week_end in week_ends:
                week = [r for r in history if week_end - timedelta(weeks=1) <= as_utc(r.when) < week_end]
                series.append(_value(m, week) or 0.0)
            figures.append(Figure(m, _fmt(m, _value(m, rows)), series, len(rows), m.detail(rows) if m.detail is not None else ""))
        flows.append((flow, label, figures))
    return Card(flows, week_ends)


def items(key: str, now: datetime | None = None) -> list[Row]:
    """The items behind a metric's number (the last WINDOW_DAYS), newest first."""
    m = _METRICS[key]
    end = now or utcnow()
    return sorted(m.rows(end - timedelta(days=WINDOW_DAYS), end), key=lambda r: as_utc(r.when), reverse=True)


# ---------------------------------------------------------------- the built-in metrics
def _ideas(start: datetime, end: datetime) -> list[Row]:
    q = select(Idea).where(Idea.created_at >= start, Idea.created_at < end)
    return [Row(i.title, f"/ideas/{i.id}", i.created_at) for i in db.session.scalars(q)]


def _threads(start: datetime, end: datetime) -> list[Row]:
    q = select(Thread).where(Thread.created_at >= start, Thread.created_at < end, Thread.deleted_at.is_(None))
    return [Row(t.title, f"/forum/t/{t.id}", t.created_at) for t in db.session.scalars(q)]


def _gaps(start: datetime, end: datetime) -> list[Row]:
    q = select(KnowledgeGap).where(KnowledgeGap.first_asked_at >= start, KnowledgeGap.first_asked_at < end)
    return [Row(g.title, f"/insights/gaps?status={g.status.value}", g.first_asked_at) for g in db.session.scalars(q)]


def _self_service(start: datetime, end: datetime) -> list[Row]:
    """Conversations with a customer question; counted when the bot answered, nobody was called and no thumbs went down."""
    convs = list(db.session.scalars(select(Conversation).where(Conversation.created_at >= start, Conversation.created_at < end)))
    if not convs:
        return []
    ids = [c.id for c in convs]
    msgs = db.session.execute(select(ChatMessage.conversation_id, ChatMessage.role, ChatMessage.reply_kind, ChatMessage.text)
                              .where(ChatMessage.conversation_id.in_(ids)).order_by(ChatMessage.id)).all()
    down = set(db.session.scalars(select(ChatMessage.conversation_id).join(AnswerFeedback, AnswerFeedback.message_id == ChatMessage.id)
                                  .where(ChatMessage.conversation_id.in_(ids), AnswerFeedback.helpful.is_(False))))
    asked: dict[int, str] = {}
    answered: set[int] = set()
    for conv_id, role, kind, text in msgs:
        if role == "customer" and conv_id not in asked:
            asked[conv_id] = text
        if role == "bot" and kind == "answer":
            answered.add(conv_id)
    return [Row(asked[c.id][:200], "", c.created_at,
                counted=c.id in answered and c.handoff_requested_at is None and c.id not in down)
            for c in convs if c.id in asked]


def _helpful_votes(start: datetime, end: datetime) -> list[Row]:
    q = select(AnswerFeedback).where(AnswerFeedback.created_at >= start, AnswerFeedback.created_at < end)
    bot = [Row(f.question or "—", "", f.created_at, counted=f.helpful) for f in db.session.scalars(q)]
    q2 = select(ArticleFeedback).where(ArticleFeedback.created_at >= start, ArticleFeedback.created_at < end)
    articles = [Row(f.article.title, f"/help/articles/{f.article.slug}", f.created_at, counted=f.helpful)
                for f in db.session.scalars(q2)]
    return bot + articles


def _gaps_closed(start: datetime, end: datetime) -> list[Row]:
    q = select(KnowledgeGap).where(KnowledgeGap.status != GapStatus.open, KnowledgeGap.resolved_at >= start,
                                   KnowledgeGap.resolved_at < end)
    return [Row(g.title, f"/insights/gaps?status={g.status.value}", g.resolved_at)
            for g in db.session.scalars(q) if g.resolved_at is not None]


def _median_days_to_close(rows: list[Row]) -> str:
    q = select(KnowledgeGap.first_asked_at, KnowledgeGap.resolved_at).where(KnowledgeGap.resolved_at.is_not(None))
    days = [(as_utc(b) - as_utc(a)).total_seconds() / 86400 for a, b in db.session.execute(q)
            if any(as_utc(r.when) == as_utc(b) for r in rows)]
    return str(_l("median %(d).1f days to close", d=statistics.median(days))) if days else ""


def _ideas_shipped(start: datetime, end: datetime) -> list[Row]:
    q = select(Idea).where(Idea.shipped_at >= start, Idea.shipped_at < end)
    return [Row(i.title, f"/ideas/{i.id}", i.shipped_at) for i in db.session.scalars(q) if i.shipped_at is not None]


def _promoted(start: datetime, end: datetime) -> list[Row]:
    q = select(Article).where(Article.source == ArticleSource.community, Article.status == ArticleStatus.published,
                              Article.published_at >= start, Article.published_at < end)
    return [Row(a.title, f"/help/articles/{a.slug}", a.published_at) for a in db.session.scalars(q) if a.published_at is not None]


def _citing_customers(start: datetime, end: datetime) -> list[Row]:
    """Bot answers; counted when they cite knowledge customers made (a forum answer or a promoted article)."""
    q = select(ChatMessage).where(ChatMessage.role == "bot", ChatMessage.reply_kind == "answer",
                                  ChatMessage.created_at >= start, ChatMessage.created_at < end)
    answers = list(db.session.scalars(q))
    community = set(db.session.scalars(select(Article.id).where(Article.source == ArticleSource.community)))
    return [Row((m.question or m.text)[:200], "", m.created_at,
                counted=m.source_type == "answer" or (m.article_id in community)) for m in answers]


def register_builtin_metrics() -> None:
    """The metrics community itself can count."""
    for m in (
        Metric("ideas", "acquisition", _l("Ideas submitted"), _ideas),
        Metric("threads", "acquisition", _l("Forum threads started"), _threads),
        Metric("gaps", "acquisition", _l("Knowledge gaps found"), _gaps),
        Metric("self_service", "sharing", _l("Bot self-service rate"), _self_service, rate=True),
        Metric("helpful", "sharing", _l("Helpful votes (bot and articles)"), _helpful_votes, rate=True),
        Metric("gaps_closed", "application", _l("Gaps closed"), _gaps_closed, detail=_median_days_to_close),
        Metric("ideas_shipped", "application", _l("Ideas shipped"), _ideas_shipped),
        Metric("promoted", "co_creation", _l("Community answers promoted to articles"), _promoted),
        Metric("citing_customers", "co_creation", _l("Bot answers citing a customer"), _citing_customers, rate=True),
    ):
        register_metric(m)


register_builtin_metrics()
