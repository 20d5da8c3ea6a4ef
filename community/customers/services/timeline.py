"""A customer's 360° timeline: everything they did, from every feature, newest first.

Each feature contributes a *timeline source*: a function (user_id, limit) -> items, newest first.
Features this package must not import (beta) plug in with register_timeline_source at start-up.
The same sources, without a limit, make the customer's data export, so the export holds every
item the timeline shows.
"""
from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import Select, select

from community.extensions import db
from community.forum.links import reply_path
from community.markup import plain_text
from community.models import (
    AnswerFeedback, ChatMessage, Conversation, GapVariant, Idea, IdeaComment, KnowledgeGap, Notification, Reply,
    Thread, Vote,
)
from community.models.base import as_utc


@dataclass
class TimelineItem:
    key: str  # unique across the timeline, e.g. "idea:12"
    at: datetime
    feature: str  # ideas / forum / chat / gaps / notifications / beta …
    kind: str  # idea / vote / comment / thread / reply / accepted_answer / chat / gap / notification …
    title: str
    detail: str = ""
    link: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # everything stored, for the export

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "at": as_utc(self.at).isoformat(), "feature": self.feature, "kind": self.kind,
                "title": self.title, "detail": self.detail, "link": self.link, "data": self.data}


TimelineSource = Callable[[int, "int | None"], list[TimelineItem]]
TIMELINE_SOURCES: dict[str, TimelineSource] = {}


def register_timeline_source(key: str, source: Callable[[int, int | None], list[Any]]) -> None:
    """Let a feature add its records to customers' timelines and exports (e.g. beta applications and reports).

    source(user_id, limit) returns the user's newest records first, at most limit (all when None), as
    TimelineItem or as plain dicts with the same fields, so the feature need not import this package:
    the app wiring (create_app) connects the two.
    """
    def items(user_id: int, limit: int | None) -> list[TimelineItem]:
        return [i if isinstance(i, TimelineItem) else TimelineItem(**i) for i in source(user_id, limit)]

    TIMELINE_SOURCES[key] = items


def _limited(stmt: Select[Any], limit: int | None) -> Select[Any]:
    return stmt.limit(limit) if limit is not None else stmt


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def _ideas(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.scalars(_limited(select(Idea).where(Idea.author_id == user_id)
                                       .order_by(Idea.created_at.desc(), Idea.id.desc()), limit))
    return [TimelineItem(f"idea:{i.id}", i.created_at, "ideas", "idea", i.title,
                         _("Posted an idea (%(status)s, %(n)d votes)", status=i.status.value, n=i.vote_count),
                         f"/ideas/{i.id}",
                         {"id": i.id, "title": i.title, "body": i.body, "category": i.category, "tags": i.tags,
                          "status": i.status.value, "created_at": _iso(i.created_at)}) for i in rows]


def _votes(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.execute(_limited(
        select(Vote, Idea.title).join(Idea, Idea.id == Vote.idea_id).where(Vote.user_id == user_id)
        .order_by(Vote.created_at.desc(), Vote.id.desc()), limit)).all()
    return [TimelineItem(f"vote:{v.id}", v.created_at, "ideas", "vote", title,
                         _("Voted (weight %(w).1f)", w=v.weight or 1.0), f"/ideas/{v.idea_id}",
                         {"idea_id": v.idea_id, "idea_title": title, "segment": v.segment, "weight": v.weight,
                          "note": v.note, "created_at": _iso(v.created_at)}) for v, title in rows]


def _comments(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.execute(_limited(
        select(IdeaComment, Idea.title).join(Idea, Idea.id == IdeaComment.idea_id)
        .where(IdeaComment.author_id == user_id, IdeaComment.deleted_at.is_(None))
        .order_by(IdeaComment.created_at.desc(), IdeaComment.id.desc()), limit)).all()
    return [TimelineItem(f"comment:{c.id}", c.created_at, "ideas", "comment", title,
                         plain_text(c.body)[:200], f"/ideas/{c.idea_id}#comment-{c.id}",
                         {"idea_id": c.idea_id, "body": c.body, "created_at": _iso(c.created_at)}) for c, title in rows]


def _threads(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.scalars(_limited(select(Thread).where(Thread.author_id == user_id, Thread.deleted_at.is_(None))
                                       .order_by(Thread.created_at.desc(), Thread.id.desc()), limit))
    return [TimelineItem(f"thread:{t.id}", t.created_at, "forum", "thread", t.title,
                         _("Started a thread (%(n)d replies)", n=t.reply_count), f"/forum/t/{t.id}",
                         {"id": t.id, "title": t.title, "body": t.body, "created_at": _iso(t.created_at)})
            for t in rows]


def _replies(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.execute(_limited(
        select(Reply, Thread.title, Thread.accepted_reply_id).join(Thread, Thread.id == Reply.thread_id)
        .where(Reply.author_id == user_id, Reply.deleted_at.is_(None))
        .order_by(Reply.created_at.desc(), Reply.id.desc()), limit)).all()
    return [TimelineItem(f"reply:{r.id}", r.created_at, "forum", "reply", title, plain_text(r.body)[:200],
                         reply_path(r.thread_id, r.id),
                         {"thread_id": r.thread_id, "body": r.body, "accepted": accepted == r.id,
                          "created_at": _iso(r.created_at)}) for r, title, accepted in rows]


def _accepted(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.execute(_limited(
        select(Reply.id, Reply.thread_id, Reply.created_at, Thread.title)
        .join(Thread, Thread.accepted_reply_id == Reply.id)
        .where(Reply.author_id == user_id, Reply.deleted_at.is_(None))
        .order_by(Reply.created_at.desc(), Reply.id.desc()), limit)).all()
    return [TimelineItem(f"accepted:{rid}", at, "forum", "accepted_answer", title, _("Their answer was accepted"),
                         reply_path(tid, rid), {"reply_id": rid, "thread_id": tid})
            for rid, tid, at, title in rows]


def _chats(user_id: int, limit: int | None) -> list[TimelineItem]:
    conversations = list(db.session.scalars(_limited(
        select(Conversation).where(Conversation.user_id == user_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc()), limit)))
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    messages: dict[int, list[ChatMessage]] = defaultdict(list)
    for m in db.session.scalars(select(ChatMessage).where(ChatMessage.conversation_id.in_(ids))
                                .order_by(ChatMessage.id)):
        messages[m.conversation_id].append(m)
    thumbs = {f.message_id: f for f in db.session.scalars(
        select(AnswerFeedback).join(ChatMessage, ChatMessage.id == AnswerFeedback.message_id)
        .where(ChatMessage.conversation_id.in_(ids)))}
    items = []
    for c in conversations:
        msgs = messages.get(c.id, [])
        asked = [m.text for m in msgs if m.role == "customer"]
        kinds = Counter(m.reply_kind for m in msgs if m.role == "bot" and m.reply_kind)
        up = sum(1 for m in msgs if m.id in thumbs and thumbs[m.id].helpful)
        down = sum(1 for m in msgs if m.id in thumbs and not thumbs[m.id].helpful)
        detail = ", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items()))
        if up or down:
            detail += (", " if detail else "") + _("thumbs up %(up)d, down %(down)d", up=up, down=down)
        items.append(TimelineItem(
            f"chat:{c.id}", c.last_message_at, "chat", "chat", (asked[0] if asked else _("(no question)"))[:200],
            detail, "", {
                "id": c.public_id, "status": c.status.value, "created_at": _iso(c.created_at),
                "messages": [{"role": m.role, "text": m.text, "reply_kind": m.reply_kind, "at": _iso(m.created_at),
                              "thumb": (None if m.id not in thumbs else
                                        {"helpful": thumbs[m.id].helpful, "reason": thumbs[m.id].reason,
                                         "comment": thumbs[m.id].comment})} for m in msgs],
            }))
    return items


def _gaps(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.execute(_limited(
        select(GapVariant.id, GapVariant.question, GapVariant.source, GapVariant.created_at, KnowledgeGap.status,
               KnowledgeGap.id).join(KnowledgeGap, KnowledgeGap.id == GapVariant.gap_id)
        .where(GapVariant.user_id == user_id).order_by(GapVariant.created_at.desc(), GapVariant.id.desc()),
        limit)).all()
    return [TimelineItem(f"gap:{vid}", at, "gaps", "gap", question,
                         _("Raised a knowledge gap (%(source)s, now %(status)s)", source=source.value, status=status.value),
                         "", {"gap_id": gid, "question": question, "source": source.value, "created_at": _iso(at)})
            for vid, question, source, at, status, gid in rows]


def _notifications(user_id: int, limit: int | None) -> list[TimelineItem]:
    rows = db.session.scalars(_limited(select(Notification).where(Notification.user_id == user_id)
                                       .order_by(Notification.created_at.desc(), Notification.id.desc()), limit))
    return [TimelineItem(f"notification:{n.id}", n.created_at, "notifications", "notification", n.title,
                         n.kind, n.link, {"kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
                                          "read_at": _iso(n.read_at), "created_at": _iso(n.created_at)})
            for n in rows]


for _key, _source in (("ideas", _ideas), ("votes", _votes), ("comments", _comments), ("threads", _threads),
                      ("replies", _replies), ("accepted_answers", _accepted), ("chats", _chats), ("gaps", _gaps),
                      ("notifications", _notifications)):
    register_timeline_source(_key, _source)


@dataclass
class TimelinePage:
    items: list[TimelineItem]
    page: int
    per_page: int
    has_more: bool
    features: list[str]


def customer_timeline(user_id: int, page: int = 1, per_page: int = 30, feature: str | None = None) -> TimelinePage:
    """One page of the customer's timeline, newest first (each source asked for at most what the page needs)."""
    page = max(1, page)
    per_page = min(max(1, per_page), 100)
    need = page * per_page + 1
    streams = [source(user_id, need) for source in TIMELINE_SOURCES.values()]
    merged = list(heapq.merge(*streams, key=lambda i: as_utc(i.at), reverse=True))
    features = sorted({i.feature for i in merged})
    if feature:
        merged = [i for i in merged if i.feature == feature]
    window = merged[(page - 1) * per_page:page * per_page + 1]
    return TimelinePage(window[:per_page], page, per_page, len(window) > per_page, features)


def full_timeline(user_id: int) -> list[TimelineItem]:
    """Every timeline item of the customer, newest first (the export)."""
    streams = [source(user_id, None) for source in TIMELINE_SOURCES.values()]
    return list(heapq.merge(*streams, key=lambda i: as_utc(i.at), reverse=True))
