"""The entries table (the source of truth) and transactional writes to it: no FAISS, no BM25.

Importing this (as the app's models do) costs no index library; knowledge_index.sync holds the
per-process IndexCache that searches it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .chunking import HEADING_SEP, Passage, content_hash, embed_input
from .embedder import Embedder, ModelMismatchError, get_embedder
from .multilingual import DIM as SECOND_DIM, MODEL_NAME as SECOND_MODEL

# 2: snapshots hold the second (multilingual) vector index too; an older snapshot is rebuilt, not loaded.
SNAPSHOT_VERSION = 2
# A transaction that wrote a row commits at most this long after its updated_at (its start).
DEFAULT_OVERLAP = timedelta(minutes=5)
_FETCH_CHUNK = 500


# ---------------------------------------------------------------- table
def define_entries_table(metadata: sa.MetaData, name: str = "index_entries",
                         second_types: Iterable[str] = ()) -> sa.Table:
    """Define the index entries table on the app's metadata (so its migrations include it).

    Entries of second_types also get a second vector from the multilingual model (knowledge_index.multilingual),
    written with the first: the passages an application answers questions from, so that Chinese queries and
    questions in the other language reach them. Not every source type: 512 more floats for each passage of a
    million-post forum would be 2 GB more per process for passages nobody answers from.
    """
    # On PostgreSQL the change sequence is a real SEQUENCE; SQLite serializes writers, so max+1 is
    # already in commit order there. Alembic autogenerate does not emit CREATE SEQUENCE: add
    # op.execute(sa.schema.CreateSequence(sa.Sequence(f"{name}_seq"))) to the migration by hand.
    seq = sa.Sequence(f"{name}_seq", metadata=metadata)
    table = sa.Table(
        name,
        metadata,
        # SQLite only auto-increments an INTEGER PRIMARY KEY; BIGINT elsewhere (= FAISS int64 id).
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("source_type", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("chunk_key", sa.String(255), nullable=False),
        sa.Column("chunk_no", sa.Integer, nullable=False, default=0),
        sa.Column("kind", sa.String(16), nullable=False, default="body"),
        sa.Column("title", sa.Text, nullable=False, default=""),
        sa.Column("heading_path", sa.Text, nullable=False, default=""),
        sa.Column("text", sa.Text, nullable=False, default=""),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        # The second (multilingual) vector, its model and dimension; NULL for source types without one.
        sa.Column("vector2", sa.LargeBinary, nullable=True),
        sa.Column("model2", sa.String(128), nullable=True),
        sa.Column("dim2", sa.Integer, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False, default=""),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("deleted", sa.Boolean, nullable=False, default=False),
        sa.UniqueConstraint("source_type", "source_id", "chunk_key", name=f"uq_{name}_source_chunk"),
        sa.Index(f"ix_{name}_seq", "seq"),
        sa.Index(f"ix_{name}_updated_at", "updated_at"),
        sa.Index(f"ix_{name}_model", "model"),
    )
    table.info["seq"] = seq
    table.info["second_types"] = frozenset(second_types)
    return table


def second_types(table: sa.Table) -> frozenset[str]:
    """The source types whose entries carry a second (multilingual) vector."""
    types: frozenset[str] = table.info.get("second_types", frozenset())
    return types


class SecondEmbedder(Protocol):
    """What the table needs of the multilingual model (knowledge_index.multilingual.MultilingualEmbedder)."""

    model_name: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: bool | None = ...) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def _second(embedder: SecondEmbedder | None) -> SecondEmbedder:
    if embedder is not None:
        return embedder
    from .multilingual import get_multilingual_embedder

    return get_multilingual_embedder()


def _next_seq(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.supports_sequences:
        return table.info["seq"].next_value()
    return sa.select(sa.func.coalesce(sa.func.max(table.c.seq), 0) + 1).scalar_subquery()


def _vec_bytes(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype="<f4").tobytes()


def _check_model(conn: Connection, table: sa.Table, embedder: Embedder, rows: Iterable[Any] = ()) -> None:
    # The newest live row (cheap via the seq index) plus the source's own rows: a model switch
    # is caught at the first write instead of scanning the whole table on every upsert.
    t = table.c
    newest = conn.execute(sa.select(t.model, t.dim).where(t.deleted.is_(False)).order_by(t.seq.desc()).limit(1)).first()
    for row in [newest, *rows]:
        if row is None or getattr(row, "deleted", False):
            continue
        if row.model == embedder.model_name and row.dim == embedder.dim:
            continue
        raise ModelMismatchError(f"{row.model} (dim {row.dim})", f"{embedder.model_name} (dim {embedder.dim})", f"table {table.name}")


@dataclass(frozen=True)
class UpsertResult:
    """What upsert_source changed."""

    embedded: int
    unchanged: int
    removed: int


@dataclass(frozen=True)
class SourceDoc:
    """One source's passages for upsert_sources."""

    source_type: str
    source_id: str
    passages: Sequence[Passage]
    meta: Mapping[str, Any] | None = None
    title: str = ""


@dataclass
class _Plan:
    doc: SourceDoc
    existing: dict[str, Any]
    inputs: list[str]
    hashes: list[str]
    to_embed: list[int]
    to_embed2: list[int]  # passages that need a (new) second vector


def _plan(conn: Connection, table: sa.Table, doc: SourceDoc, embedder: Embedder) -> _Plan:
    t = table.c
    existing = {
        r.chunk_key: r
        for r in conn.execute(
            sa.select(t.id, t.chunk_key, t.chunk_no, t.content_hash, t.deleted, t.meta, t.title, t.kind, t.model, t.dim,
                      t.model2, t.dim2).where(
                t.source_type == doc.source_type, t.source_id == doc.source_id
            )
        )
    }
    _check_model(conn, table, embedder, existing.values())
    keys = [p.chunk_key for p in doc.passages]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate chunk keys in {doc.source_type}:{doc.source_id}")
    inputs = [embed_input(doc.title, p) for p in doc.passages]
    hashes = [content_hash(x) for x in inputs]
    to_embed = [
        n for n, p in enumerate(doc.passages)
        if (r := existing.get(p.chunk_key)) is None or r.deleted or r.content_hash != hashes[n]
    ]
    to_embed2: list[int] = []
    if doc.source_type in second_types(table):
        changed = set(to_embed)
        to_embed2 = [
            n for n, p in enumerate(doc.passages)
            if n in changed or (r := existing[p.chunk_key]).model2 != SECOND_MODEL or r.dim2 != SECOND_DIM
        ]
    return _Plan(doc, existing, inputs, hashes, to_embed, to_embed2)


def _write(conn: Connection, table: sa.Table, plan: _Plan, vectors: np.ndarray, embedder: Embedder,
           vectors2: np.ndarray | None = None, second: SecondEmbedder | None = None) -> UpsertResult:
    t = table.c
    doc = plan.doc
    meta_d = dict(doc.meta or {})
    vec_of = {n: vectors[j] for j, n in enumerate(plan.to_embed)}
    vec2_of = {n: vectors2[j] for j, n in enumerate(plan.to_embed2)} if vectors2 is not None else {}
    unchanged = 0
    for n, p in enumerate(doc.passages):
        r = plan.existing.get(p.chunk_key)
        values: dict[str, Any] = {
            "chunk_no": n, "kind": p.kind, "title": doc.title, "heading_path": p.heading,
            "text": p.text, "meta": meta_d, "deleted": False,
        }
        if n in vec_of:
            values.update(vector=_vec_bytes(vec_of[n]), model=embedder.model_name, dim=embedder.dim, content_hash=plan.hashes[n])
        if n in vec2_of and second is not None:
            values.update(vector2=_vec_bytes(vec2_of[n]), model2=second.model_name, dim2=second.dim)
        elif r is not None and n not in vec_of and r.chunk_no == n and r.meta == meta_d and r.title == doc.title and r.kind == p.kind:
            unchanged += 1
            continue
        values.update(seq=_next_seq(conn, table), updated_at=sa.func.now())
        if r is None:
            conn.execute(sa.insert(table).values(source_type=doc.source_type, source_id=doc.source_id, chunk_key=p.chunk_key, **values))
        else:
            conn.execute(sa.update(table).where(t.id == r.id).values(**values))
    keys = {p.chunk_key for p in doc.passages}
    gone = [r.id for k, r in plan.existing.items() if k not in keys and not r.deleted]
    _tombstone(conn, table, gone)
    return UpsertResult(embedded=len(plan.to_embed), unchanged=unchanged, removed=len(gone))


def upsert_source(
    conn: Connection,
    table: sa.Table,
    source_type: str,
    source_id: str,
    passages: Sequence[Passage],
    meta: Mapping[str, Any] | None,
    embedder: Embedder | None = None,
    *,
    title: str = "",
    second_embedder: SecondEmbedder | None = None,
) -> UpsertResult:
    """Make the source's entries equal passages; embeds only changed ones; never commits."""
    embedder = embedder or get_embedder()
    plan = _plan(conn, table, SourceDoc(source_type, source_id, passages, meta, title), embedder)
    vectors = embedder.encode([plan.inputs[n] for n in plan.to_embed])
    vectors2 = None
    if plan.to_embed2:
        second_embedder = _second(second_embedder)
        vectors2 = second_embedder.encode([plan.inputs[n] for n in plan.to_embed2])
    return _write(conn, table, plan, vectors, embedder, vectors2, second_embedder)


def upsert_sources(
    conn: Connection,
    table: sa.Table,
    docs: Iterable[SourceDoc],
    embedder: Embedder | None = None,
    *,
    batch_passages: int = 1024,
    progress: bool = False,
    second_embedder: SecondEmbedder | None = None,
) -> UpsertResult:
    """Bulk upsert_source: embeds changed passages of many sources in shared batches; never commits."""
    embedder = embedder or get_embedder()
    second: SecondEmbedder | None = second_embedder
    totals = [0, 0, 0]
    pending: list[_Plan] = []

    def flush() -> None:
        nonlocal second
        texts = [p.inputs[n] for p in pending for n in p.to_embed]
        vectors = embedder.encode(texts, progress=progress)
        texts2 = [p.inputs[n] for p in pending for n in p.to_embed2]
        vectors2 = np.zeros((0, 0), np.float32)
        if texts2:
            second = _second(second)
            vectors2 = second.encode(texts2, progress=progress)
        offset = offset2 = 0
        for plan in pending:
            res = _write(conn, table, plan, vectors[offset : offset + len(plan.to_embed)], embedder,
                         vectors2[offset2 : offset2 + len(plan.to_embed2)], second)
            offset += len(plan.to_embed)
            offset2 += len(plan.to_embed2)
            totals[0] += res.embedded
            totals[1] += res.unchanged
            totals[2] += res.removed
        pending.clear()

    count = 0
    for doc in docs:
        plan = _plan(conn, table, doc, embedder)
        pending.append(plan)
        count += len(plan.to_embed) + len(plan.to_embed2)
        if count >= batch_passages:
            flush()
            count = 0
    flush()
    return UpsertResult(*totals)


def _tombstone(conn: Connection, table: sa.Table, ids: Sequence[int]) -> None:
    # Rows stay as tombstones so other processes learn of the deletion through sync().
    for start in range(0, len(ids), _FETCH_CHUNK):
        part = list(ids[start : start + _FETCH_CHUNK])
        for entry_id in part:
            conn.execute(
                sa.update(table)
                .where(table.c.id == entry_id)
                .values(deleted=True, vector=None, vector2=None, model2=None, dim2=None, text="", content_hash="",
                        seq=_next_seq(conn, table), updated_at=sa.func.now())
            )


def remove_source(conn: Connection, table: sa.Table, source_type: str, source_id: str) -> int:
    """Tombstone every entry of a source; returns how many; never commits."""
    t = table.c
    ids = conn.execute(
        sa.select(t.id).where(t.source_type == source_type, t.source_id == source_id, t.deleted.is_(False))
    ).scalars().all()
    _tombstone(conn, table, ids)
    return len(ids)


def reindex_all(conn: Connection, table: sa.Table, embedder: Embedder | None = None, batch_size: int = 256,
                progress: bool = False, second_embedder: SecondEmbedder | None = None) -> int:
    """Re-embed every live entry made by another model, and give the entries of the table's second types a
    second vector where they lack one (or have another model's); returns how many rows changed; never commits."""
    embedder = embedder or get_embedder()
    t = table.c
    rows = conn.execute(
        sa.select(t.id, t.kind, t.title, t.heading_path, t.text).where(
            t.deleted.is_(False), sa.or_(t.model != embedder.model_name, t.dim != embedder.dim)
        )
    ).all()
    for start in range(0, len(rows), batch_size):
        part = rows[start : start + batch_size]
        inputs = [_row_input(r) for r in part]
        vecs = embedder.encode(inputs, progress=progress)
        for r, x, v in zip(part, inputs, vecs, strict=True):
            conn.execute(
                sa.update(table).where(t.id == r.id).values(
                    vector=_vec_bytes(v), model=embedder.model_name, dim=embedder.dim,
                    content_hash=content_hash(x), seq=_next_seq(conn, table), updated_at=sa.func.now(),
                )
            )
    changed = {r.id for r in rows}
    types = second_types(table)
    if types:
        rows2 = conn.execute(
            sa.select(t.id, t.kind, t.title, t.heading_path, t.text).where(
                t.deleted.is_(False), t.source_type.in_(sorted(types)),
                sa.or_(t.model2.is_(None), t.model2 != SECOND_MODEL, t.dim2 != SECOND_DIM),
            )
        ).all()
        if rows2:
            second = _second(second_embedder)
            for start in range(0, len(rows2), batch_size):
                part = rows2[start : start + batch_size]
                vecs = second.encode([_row_input(r) for r in part], progress=progress)
                for r, v in zip(part, vecs, strict=True):
                    conn.execute(
                        sa.update(table).where(t.id == r.id).values(
                            vector2=_vec_bytes(v), model2=second.model_name, dim2=second.dim,
                            seq=_next_seq(conn, table), updated_at=sa.func.now(),
                        )
                    )
            changed.update(r.id for r in rows2)
    return len(changed)


def _row_input(r: Any) -> str:
    path = tuple(r.heading_path.split(HEADING_SEP)) if r.heading_path else ()
    return embed_input(r.title, Passage("", r.text, path, r.kind))
