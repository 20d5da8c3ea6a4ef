"""The entries table (source of truth), transactional writes, and the per-process IndexCache."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .chunking import HEADING_SEP, Passage, content_hash, embed_input
from .embedder import Embedder, ModelMismatchError, get_embedder
from .lexical import LexicalIndex
from .search import DEFAULT_FUSION, Fusion, Hit, best_span, rank
from .store import VectorStore, current_snapshot, write_snapshot

SNAPSHOT_VERSION = 1
# A transaction that wrote a row commits at most this long after its updated_at (its start).
DEFAULT_OVERLAP = timedelta(minutes=5)
_FETCH_CHUNK = 500


# ---------------------------------------------------------------- table
def define_entries_table(metadata: sa.MetaData, name: str = "index_entries") -> sa.Table:
    """Define the index entries table on the app's metadata (so its migrations include it)."""
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
    return table


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


def _plan(conn: Connection, table: sa.Table, doc: SourceDoc, embedder: Embedder) -> _Plan:
    t = table.c
    existing = {
        r.chunk_key: r
        for r in conn.execute(
            sa.select(t.id, t.chunk_key, t.chunk_no, t.content_hash, t.deleted, t.meta, t.title, t.kind, t.model, t.dim).where(
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
    return _Plan(doc, existing, inputs, hashes, to_embed)


def _write(conn: Connection, table: sa.Table, plan: _Plan, vectors: np.ndarray, embedder: Embedder) -> UpsertResult:
    t = table.c
    doc = plan.doc
    meta_d = dict(doc.meta or {})
    vec_of = {n: vectors[j] for j, n in enumerate(plan.to_embed)}
    unchanged = 0
    for n, p in enumerate(doc.passages):
        r = plan.existing.get(p.chunk_key)
        values: dict[str, Any] = {
            "chunk_no": n, "kind": p.kind, "title": doc.title, "heading_path": p.heading,
            "text": p.text, "meta": meta_d, "deleted": False,
        }
        if n in vec_of:
            values.update(vector=_vec_bytes(vec_of[n]), model=embedder.model_name, dim=embedder.dim, content_hash=plan.hashes[n])
        elif r is not None and r.chunk_no == n and r.meta == meta_d and r.title == doc.title and r.kind == p.kind:
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
) -> UpsertResult:
    """Make the source's entries equal passages; embeds only changed ones; never commits."""
    embedder = embedder or get_embedder()
    plan = _plan(conn, table, SourceDoc(source_type, source_id, passages, meta, title), embedder)
    vectors = embedder.encode([plan.inputs[n] for n in plan.to_embed])
    return _write(conn, table, plan, vectors, embedder)


def upsert_sources(
    conn: Connection,
    table: sa.Table,
    docs: Iterable[SourceDoc],
    embedder: Embedder | None = None,
    *,
    batch_passages: int = 1024,
    progress: bool = False,
) -> UpsertResult:
    """Bulk upsert_source: embeds changed passages of many sources in shared batches; never commits."""
    embedder = embedder or get_embedder()
    totals = [0, 0, 0]
    pending: list[_Plan] = []

    def flush() -> None:
        texts = [p.inputs[n] for p in pending for n in p.to_embed]
        vectors = embedder.encode(texts, progress=progress)
        offset = 0
        for plan in pending:
            res = _write(conn, table, plan, vectors[offset : offset + len(plan.to_embed)], embedder)
            offset += len(plan.to_embed)
            totals[0] += res.embedded
            totals[1] += res.unchanged
            totals[2] += res.removed
        pending.clear()

    count = 0
    for doc in docs:
        plan = _plan(conn, table, doc, embedder)
        pending.append(plan)
        count += len(plan.to_embed)
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
                .values(deleted=True, vector=None, text="", content_hash="", seq=_next_seq(conn, table), updated_at=sa.func.now())
            )


def remove_source(conn: Connection, table: sa.Table, source_type: str, source_id: str) -> int:
    """Tombstone every entry of a source; returns how many; never commits."""
    t = table.c
    ids = conn.execute(
        sa.select(t.id).where(t.source_type == source_type, t.source_id == source_id, t.deleted.is_(False))
    ).scalars().all()
    _tombstone(conn, table, ids)
    return len(ids)


def reindex_all(conn: Connection, table: sa.Table, embedder: Embedder | None = None, batch_size: int = 256, progress: bool = False) -> int:
    """Re-embed every live entry made by another model; returns how many; never commits."""
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
    return len(rows)


def _row_input(r: Any) -> str:
    path = tuple(r.heading_path.split(HEADING_SEP)) if r.heading_path else ()
    return embed_input(r.title, Passage("", r.text, path, r.kind))


# ---------------------------------------------------------------- cache
@dataclass(slots=True)
class Entry:
    """Passage metadata a cache keeps in memory for building hits."""

    source_type: str
    source_id: str
    chunk_key: str
    title: str
    heading_path: str
    text: str
    meta: dict[str, Any]
    seq: int


Filters = Mapping[str, Any]
"""{"source_type": str | set of str, <meta key>: value, ...}; meta keys match by equality."""


class _RWLock:
    """Many readers or one writer; a waiting writer blocks new readers so syncs are not starved."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    def acquire_read(self) -> None:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1

    def release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_write(self) -> None:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True

    def release_write(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


@dataclass(frozen=True)
class SyncResult:
    """What one sync() applied."""

    upserted: int
    removed: int
    watermark: int


class IndexCache:
    """A process's searchable copy of the entries table: vectors, BM25 and passage metadata."""

    def __init__(
        self,
        table: sa.Table,
        embedder: Embedder | None = None,
        *,
        fusion: Fusion = DEFAULT_FUSION,
        overlap: timedelta = DEFAULT_OVERLAP,
        store: VectorStore | None = None,
    ) -> None:
        self.table = table
        self._embedder = embedder
        self.fusion = fusion
        self.overlap = overlap
        self._store_template = store
        self._lock = _RWLock()
        self._sync_lock = threading.Lock()  # one sync/rebuild at a time; searches keep going
        self._reset(store)

    def _reset(self, store: VectorStore | None = None) -> None:
        self._store = store or VectorStore(self.embedder.dim)
        self._lexical = LexicalIndex()
        self._entries: dict[int, Entry] = {}
        self._by_type: dict[str, set[int]] = {}
        self._by_doc: dict[tuple[str, str], set[int]] = {}
        self._by_meta: dict[tuple[str, Any], set[int]] = {}
        self._tombstone_seq: dict[int, int] = {}
        self.watermark = 0

    @property
    def embedder(self) -> Embedder:
        """The embedder, loaded on first use."""
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def store(self) -> VectorStore:
        """The vector store (for inspection and benchmarks)."""
        return self._store

    # ------------------------------------------------------------ applying rows
    def _forget(self, entry_id: int) -> None:
        old = self._entries.pop(entry_id, None)
        if old is None:
            return
        self._by_type.get(old.source_type, set()).discard(entry_id)
        doc = self._by_doc.get((old.source_type, old.source_id))
        if doc is not None:
            doc.discard(entry_id)
            if not doc:
                del self._by_doc[(old.source_type, old.source_id)]
        for key, value in old.meta.items():
            self._by_meta.get((key, _hashable(value)), set()).discard(entry_id)
        self._store.remove([entry_id])
        self._lexical.remove(entry_id)

    def _remember(self, entry_id: int, entry: Entry, text_input: str) -> None:
        self._entries[entry_id] = entry
        self._by_type.setdefault(entry.source_type, set()).add(entry_id)
        self._by_doc.setdefault((entry.source_type, entry.source_id), set()).add(entry_id)
        for key, value in entry.meta.items():
            self._by_meta.setdefault((key, _hashable(value)), set()).add(entry_id)
        self._lexical.set(entry_id, text_input)

    def _known_seq(self, entry_id: int) -> int:
        e = self._entries.get(entry_id)
        return e.seq if e is not None else self._tombstone_seq.get(entry_id, -1)

    def _check_rows_model(self, rows: Iterable[Any]) -> None:
        emb = self.embedder
        for r in rows:
            if not r.deleted and (r.model != emb.model_name or r.dim != emb.dim):
                raise ModelMismatchError(f"{r.model} (dim {r.dim})", f"{emb.model_name} (dim {emb.dim})", f"table {self.table.name}")

    def _apply(self, rows: Sequence[Any]) -> tuple[int, int]:
        upserted = removed = 0
        add_ids: list[int] = []
        add_vecs: list[np.ndarray] = []
        for r in sorted(rows, key=lambda r: r.seq):
            if r.seq <= self._known_seq(r.id):
                continue  # an older version than we hold: applying twice is a no-op
            had = r.id in self._entries
            self._forget(r.id)
            if r.deleted:
                self._tombstone_seq[r.id] = r.seq
                removed += int(had)
                continue
            self._tombstone_seq.pop(r.id, None)
            entry = Entry(r.source_type, r.source_id, r.chunk_key, r.title, r.heading_path, r.text, dict(r.meta or {}), r.seq)
            self._remember(r.id, entry, _row_input(r))
            add_ids.append(r.id)
            add_vecs.append(np.frombuffer(r.vector, dtype="<f4"))
            upserted += 1
        if add_ids:
            self._store.add(add_ids, np.vstack(add_vecs))
        return upserted, removed

    def _row_columns(self) -> list[sa.Column[Any]]:
        return list(self.table.c)

    # ------------------------------------------------------------ sync / rebuild
    def sync(self, conn: Connection) -> SyncResult:
        """Catch up with committed changes since the watermark (idempotent; out-of-order safe)."""
        t = self.table.c
        with self._sync_lock:
            cond = t.seq > self.watermark
            if conn.dialect.supports_sequences:
                # Sequence values are taken at write time but become visible at commit, so a
                # slow transaction can commit a seq below the watermark: re-check a time window.
                cond = sa.or_(cond, t.updated_at >= sa.func.now() - self.overlap)
            light = conn.execute(sa.select(t.id, t.seq).where(cond)).all()
            changed = [r.id for r in light if r.seq > self._known_seq(r.id)]
            rows: list[Any] = []
            for start in range(0, len(changed), _FETCH_CHUNK):
                part = changed[start : start + _FETCH_CHUNK]
                rows.extend(conn.execute(sa.select(*self._row_columns()).where(t.id.in_(part))).all())
            self._check_rows_model(rows)
            self._lock.acquire_write()
            try:
                upserted, removed = self._apply(rows)
                seqs = [r.seq for r in light] + [r.seq for r in rows]
                self.watermark = max([self.watermark, *seqs])
                self._store.maintain()
            finally:
                self._lock.release_write()
            return SyncResult(upserted, removed, self.watermark)

    def rebuild(self, conn: Connection, progress: bool = False) -> int:
        """Rebuild everything from the table (searches keep using the old copy meanwhile)."""
        t = self.table.c
        with self._sync_lock:
            fresh = IndexCache(self.table, self.embedder, fusion=self.fusion, overlap=self.overlap, store=self._store.empty_like())
            ids: list[int] = []
            vecs: list[np.ndarray] = []
            watermark = 0
            # Stream (server-side cursor on PostgreSQL); close it even when a row fails the model check.
            result = conn.execute(sa.select(*self._row_columns()).order_by(t.id).execution_options(yield_per=5000))
            with result:
                for r in result:
                    watermark = max(watermark, r.seq)
                    if r.deleted:
                        fresh._tombstone_seq[r.id] = r.seq
                        continue
                    self._check_rows_model([r])
                    entry = Entry(r.source_type, r.source_id, r.chunk_key, r.title, r.heading_path, r.text, dict(r.meta or {}), r.seq)
                    fresh._remember(r.id, entry, _row_input(r))
                    ids.append(r.id)
                    vecs.append(np.frombuffer(r.vector, dtype="<f4"))
            fresh._store.build(ids, np.vstack(vecs) if vecs else np.zeros((0, self.embedder.dim), np.float32))
            fresh.watermark = watermark
            self._lock.acquire_write()
            try:
                self._adopt(fresh)
            finally:
                self._lock.release_write()
            return len(ids)

    def _adopt(self, other: IndexCache) -> None:
        self._store, self._lexical, self._entries = other._store, other._lexical, other._entries
        self._by_type, self._by_meta = other._by_type, other._by_meta
        self._tombstone_seq, self.watermark = other._tombstone_seq, other.watermark

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Snapshot the cache into directory atomically (a new snapshot, then CURRENT switched)."""

        def fill(snap: Path) -> None:
            self._store.save(snap / "store")
            ids = list(self._entries)
            cols: dict[str, list[Any]] = {"id": ids, "tokens": [" ".join(self._lexical._tokens.get(i, ())) for i in ids]}
            for f in Entry.__slots__:
                cols[f] = [getattr(self._entries[i], f) for i in ids]
            (snap / "entries.json").write_text(json.dumps(cols, ensure_ascii=False))
            state = {
                "version": SNAPSHOT_VERSION,
                "model": self.embedder.model_name,
                "dim": self.embedder.dim,
                "watermark": self.watermark,
                "table": self.table.name,
                "tombstones": list(self._tombstone_seq.items()),
            }
            (snap / "state.json").write_text(json.dumps(state))

        self._lock.acquire_read()
        try:
            return write_snapshot(directory, fill)
        finally:
            self._lock.release_read()

    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], table: sa.Table, embedder: Embedder | None = None, **kwargs: Any
    ) -> IndexCache:
        """Load a saved snapshot (then call sync(conn) to catch up); empty cache if none saved."""
        cache = cls(table, embedder, **kwargs)
        snap = current_snapshot(directory)
        if snap is None:
            return cache
        state = json.loads((snap / "state.json").read_text())
        emb = cache.embedder
        if state["model"] != emb.model_name or state["dim"] != emb.dim:
            raise ModelMismatchError(f"{state['model']} (dim {state['dim']})", f"{emb.model_name} (dim {emb.dim})", f"saved index {snap}")
        cache._store = VectorStore.load(snap / "store")
        cols = json.loads((snap / "entries.json").read_text())
        for n, entry_id in enumerate(cols["id"]):
            entry = Entry(*(cols[f][n] for f in Entry.__slots__))
            cache._entries[entry_id] = entry
            cache._by_type.setdefault(entry.source_type, set()).add(entry_id)
            cache._by_doc.setdefault((entry.source_type, entry.source_id), set()).add(entry_id)
            for key, value in entry.meta.items():
                cache._by_meta.setdefault((key, _hashable(value)), set()).add(entry_id)
            cache._lexical._tokens[entry_id] = tuple(cols["tokens"][n].split())
        cache._lexical._dirty = True
        cache.watermark = int(state["watermark"])
        cache._tombstone_seq = {int(k): int(v) for k, v in state["tombstones"]}
        return cache

    # ------------------------------------------------------------ search
    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        sets: list[set[int]] = []
        for key, value in filters.items():
            if key == "source_type":
                values = [value] if isinstance(value, str) else list(value)
                sets.append(set().union(*(self._by_type.get(v, set()) for v in values)))
            else:
                sets.append(self._by_meta.get((key, _hashable(value)), set()))
        sets.sort(key=len)
        allowed = set(sets[0]).intersection(*sets[1:])
        return np.fromiter(allowed, np.int64, len(allowed))

    def _hits(self, ranked: Sequence[tuple[int, float, float, float]], query: str | None) -> list[Hit]:
        hits = []
        for entry_id, score, dense, lex in ranked:
            e = self._entries.get(entry_id)
            if e is None:
                continue
            span = best_span(query, e.text) if query else (0, len(e.text))
            hits.append(Hit(entry_id, e.source_type, e.source_id, e.chunk_key, e.title, e.heading_path, e.text, dict(e.meta),
                            score, dense, lex, span))
        return hits

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters | None = None,
        *,
        query_vector: np.ndarray | None = None,
        fusion: Fusion | None = None,
    ) -> list[Hit]:
        """Hybrid search: top-k passages for query, fused per self.fusion, filtered."""
        fusion = fusion or self.fusion
        qvec = self.embedder.encode_query(query) if query_vector is None else np.asarray(query_vector, np.float32)
        self._lock.acquire_read()
        try:
            allowed = self._allowed(filters)
            if allowed is not None and not len(allowed):
                return []
            ranked = rank(self._store, self._lexical, qvec, query, k, fusion, allowed)
            return self._hits(ranked, query)
        finally:
            self._lock.release_read()

    def document_vector(self, source_type: str, source_id: str) -> np.ndarray | None:
        """The normalized mean of a document's stored passage vectors, or None when it is not indexed.

        Lets a page find what is close to a stored document without running the model again.
        """
        self._lock.acquire_read()
        try:
            ids = sorted(self._by_doc.get((source_type, str(source_id)), ()))
            if not ids:
                return None
            mean = self._store.vectors(ids).mean(axis=0)
        finally:
            self._lock.release_read()
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if norm > 0 else None

    def mean_vector(self, filters: Filters, limit: int = 500) -> np.ndarray | None:
        """The normalized mean of the newest `limit` passages matching filters (what a category is about)."""
        self._lock.acquire_read()
        try:
            allowed = self._allowed(filters)
            if allowed is None or not len(allowed):
                return None
            ids = np.sort(allowed)[-limit:]
            mean = self._store.vectors(ids).mean(axis=0)
        finally:
            self._lock.release_read()
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if norm > 0 else None

    def search_vector(self, vector: np.ndarray, k: int = 10, filters: Filters | None = None) -> list[Hit]:
        """Dense-only search with a precomputed (normalized) query vector."""
        self._lock.acquire_read()
        try:
            allowed = self._allowed(filters)
            if allowed is not None and not len(allowed):
                return []
            ranked = rank(self._store, None, np.asarray(vector, np.float32), None, k, Fusion("dense"), allowed)
            return self._hits(ranked, None)
        finally:
            self._lock.release_read()

    def candidates(
        self, query: str, n: int = 50, filters: Filters | None = None, *, query_vector: np.ndarray | None = None,
        lexical: bool = True, spans: bool = True,
    ) -> list[Hit]:
        """Dense top-n passages with dense and lexical scores, for a re-ranker (score = dense).

        A re-ranker that reads only dense scores passes lexical=False and spans=False: BM25 over
        a large index and sentence spans for every candidate are most of the cost then.
        """
        qvec = self.embedder.encode_query(query) if query_vector is None else np.asarray(query_vector, np.float32)
        self._lock.acquire_read()
        try:
            allowed = self._allowed(filters)
            if allowed is not None and not len(allowed):
                return []
            d, i = self._store.search(qvec.reshape(1, -1), n, allowed=allowed)
            keep = i[0] >= 0
            ids, dense = i[0][keep], d[0][keep]
            lex = self._lexical.scores_for(self._lexical.scores(query), ids) if lexical else np.zeros(len(ids))
            ranked = [(int(a), float(b), float(b), float(c)) for a, b, c in zip(ids, dense, lex, strict=True)]
            return self._hits(ranked, query if spans else None)
        finally:
            self._lock.release_read()
