"""What insights can mine: pluggable source types (thread, idea, gap, ... and beta reports when beta registers).

A source type says how to describe its items (title, author, time, link) and, when its texts have
stored vectors, how to load them for themes and duplicates. Vectors always come from what is
already stored (the index table, gap variants): nothing is re-encoded here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy import sparse
from sqlalchemy import select

from community.extensions import db
from community.forum.links import reply_path
from community.markup import plain_text, shorten
from community.models import ChatMessage, GapVariant, Idea, KnowledgeGap, Reply, Thread, index_entries
from community.models.base import as_utc


@dataclass(frozen=True)
class ItemInfo:
    """What a page, an export or the evidence list shows of one item."""

    source_type: str
    source_id: str
    title: str
    excerpt: str
    author_id: int | None
    created_at: datetime
    url: str


@dataclass
class Vectors:
    """Items of one source type with one unit vector each (row i is ids[i])."""

    ids: list[str]
    matrix: np.ndarray
    infos: dict[str, ItemInfo] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceType:
    """One kind of item insights can cluster, link or attach as evidence."""

    name: str
    label: str
    describe: Callable[[Sequence[str]], dict[str, ItemInfo]]
    # None: the type can be evidence but has no stored vectors to cluster (replies, chat messages).
    vectors: Callable[[datetime | None], Vectors] | None = None


_SOURCES: dict[str, SourceType] = {}


def register_source(source: SourceType) -> None:
    """Make a source type known to themes, duplicates and evidence (features register at start-up)."""
    _SOURCES[source.name] = source


def source(name: str) -> SourceType | None:
    """The registered source type called name, or None."""
    return _SOURCES.get(name)


def sources(clusterable: bool = False) -> list[SourceType]:
    """Every registered source type (only those with vectors when clusterable)."""
    return [s for s in _SOURCES.values() if s.vectors is not None or not clusterable]


def describe(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ItemInfo]:
    """ItemInfo for many (type, id) keys; unknown types and vanished items are left out."""
    wanted: dict[str, list[str]] = {}
    for kind, ident in keys:
        wanted.setdefault(kind, []).append(str(ident))
    out: dict[tuple[str, str], ItemInfo] = {}
    for kind, ids in wanted.items():
        src = _SOURCES.get(kind)
        if src is not None:
            for ident, info in src.describe(ids).items():
                out[(kind, ident)] = info
    return out


def _excerpt(text: str, limit: int = 240) -> str:
    text = " ".join(plain_text(text or "").split())
    return shorten(text, limit)


def _int_ids(ids: Sequence[str]) -> list[int]:
    return [int(i) for i in ids if str(i).isdigit()]


def entry_vectors(source_type: str, allowed: Iterable[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Stored index vectors of a source type, one unit vector per document (the mean of its passages)."""
    t = index_entries.c
    query = select(t.source_id, t.vector).where(t.source_type == source_type, t.deleted.is_(False), t.vector.is_not(None))
    rows = db.session.execute(query).all()
    keep = None if allowed is None else set(allowed)
    order: dict[str, int] = {}
    owner: list[int] = []
    blobs: list[bytes] = []
    for source_id, blob in rows:
        if keep is not None and source_id not in keep:
            continue
        owner.append(order.setdefault(source_id, len(order)))
        blobs.append(blob)
    if not blobs:
        return [], np.zeros((0, 0), dtype=np.float32)
    passages = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)
    # Summing rows by document through a sparse one-hot product: np.add.at is ~50x slower at 100k rows.
    onehot = sparse.csr_matrix((np.ones(len(owner), dtype=np.float32), (owner, np.arange(len(owner)))),
                               shape=(len(order), len(owner)))
    sums = np.asarray(onehot @ passages, dtype=np.float32)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return list(order), sums


# ---------------------------------------------------------------- built-in source types
def _describe_threads(ids: Sequence[str]) -> dict[str, ItemInfo]:
    rows = db.session.scalars(select(Thread).where(Thread.id.in_(_int_ids(ids))))
    return {str(t.id): ItemInfo("thread", str(t.id), t.title, _excerpt(t.body), t.author_id, as_utc(t.created_at),
                                f"/forum/t/{t.id}") for t in rows}


def _thread_vectors(since: datetime | None) -> Vectors:
    # Plain rows, not ORM objects: a run may read 100,000 of them.
    query = select(Thread.id, Thread.title, Thread.author_id, Thread.created_at).where(
        Thread.deleted_at.is_(None), Thread.hidden.is_(False))
    if since is not None:
        query = query.where(Thread.created_at >= since)
    threads = {str(r.id): r for r in db.session.execute(query)}
    ids, matrix = entry_vectors("thread", threads)
    infos = {i: ItemInfo("thread", i, threads[i].title, "", threads[i].author_id, as_utc(threads[i].created_at),
                         f"/forum/t/{i}") for i in ids}
    return Vectors(ids, matrix, infos)


def _describe_ideas(ids: Sequence[str]) -> dict[str, ItemInfo]:
    rows = db.session.scalars(select(Idea).where(Idea.id.in_(_int_ids(ids))))
    return {str(i.id): ItemInfo("idea", str(i.id), i.title, _excerpt(i.body), i.author_id, as_utc(i.created_at),
                                f"/ideas/{i.id}") for i in rows}


def _idea_vectors(since: datetime | None) -> Vectors:
    query = select(Idea).where(Idea.merged_into_id.is_(None))
    if since is not None:
        query = query.where(Idea.created_at >= since)
    ideas = {str(i.id): i for i in db.session.scalars(query)}
    ids, matrix = entry_vectors("idea", ideas)
    infos = {i: ItemInfo("idea", i, ideas[i].title, "", ideas[i].author_id, as_utc(ideas[i].created_at),
                         f"/ideas/{i}") for i in ids}
    return Vectors(ids, matrix, infos)


def _gap_author(gap: KnowledgeGap) -> int | None:
    return next((v.user_id for v in gap.variants if v.user_id is not None), None)


def _describe_gaps(ids: Sequence[str]) -> dict[str, ItemInfo]:
    rows = db.session.scalars(select(KnowledgeGap).where(KnowledgeGap.id.in_(_int_ids(ids))))
    return {str(g.id): ItemInfo("gap", str(g.id), g.title, "", _gap_author(g), as_utc(g.first_asked_at),
                                "/insights/gaps?status=" + g.status.value) for g in rows}


def _gap_vectors(since: datetime | None) -> Vectors:
    query = select(KnowledgeGap)
    if since is not None:
        query = query.where(KnowledgeGap.first_asked_at >= since)
    gaps = {str(g.id): g for g in db.session.scalars(query)}
    rows = db.session.execute(
        select(GapVariant.gap_id, GapVariant.vector).where(GapVariant.gap_id.in_([int(i) for i in gaps]))
    ).all() if gaps else []
    sums: dict[str, np.ndarray] = {}
    for gap_id, blob in rows:
        vec = np.frombuffer(blob, dtype="<f4")
        key = str(gap_id)
        sums[key] = sums[key] + vec if key in sums else vec.astype(np.float32)
    ids = list(sums)
    if not ids:
        return Vectors([], np.zeros((0, 0), dtype=np.float32))
    matrix = np.stack([sums[i] for i in ids])
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    infos = _describe_gaps(ids)
    return Vectors(ids, matrix, infos)


def _describe_replies(ids: Sequence[str]) -> dict[str, ItemInfo]:
    rows = db.session.scalars(select(Reply).where(Reply.id.in_(_int_ids(ids))))
    return {str(r.id): ItemInfo("reply", str(r.id), r.thread.title, _excerpt(r.body), r.author_id, as_utc(r.created_at),
                                reply_path(r.thread_id, r.id)) for r in rows}


def _describe_chat_messages(ids: Sequence[str]) -> dict[str, ItemInfo]:
    rows = db.session.scalars(select(ChatMessage).where(ChatMessage.id.in_(_int_ids(ids)), ChatMessage.role == "customer"))
    return {str(m.id): ItemInfo("chat_message", str(m.id), _excerpt(m.text, 120), _excerpt(m.text), m.author_id,
                                as_utc(m.created_at), "") for m in rows}


def register_builtin_sources() -> None:
    """The source types community itself owns (beta reports register from their own feature)."""
    register_source(SourceType("thread", "Forum thread", _describe_threads, _thread_vectors))
    register_source(SourceType("idea", "Idea", _describe_ideas, _idea_vectors))
    register_source(SourceType("gap", "Knowledge gap", _describe_gaps, _gap_vectors))
    register_source(SourceType("reply", "Forum reply", _describe_replies))
    register_source(SourceType("chat_message", "Chat message", _describe_chat_messages))


register_builtin_sources()
