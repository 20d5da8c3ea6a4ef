"""The per-process IndexCache: FAISS and BM25 over the entries table, caught up by a watermark.

The table and its transactional writes live in knowledge_index.table (no index library needed) and
are re-exported here."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .embedder import Embedder, ModelMismatchError, get_embedder
from .lexical import LexicalIndex, top_of
from .multilingual import DIM as SECOND_DIM, MODEL_NAME as SECOND_MODEL, has_cjk
from .search import DEFAULT_FUSION, SECOND_FUSION, Fusion, Hit, best_span, candidate_scores, rank
from .store import VectorStore, current_snapshot, write_snapshot
from .table import (
    DEFAULT_OVERLAP as DEFAULT_OVERLAP,
    SNAPSHOT_VERSION as SNAPSHOT_VERSION,
    SourceDoc as SourceDoc,
    UpsertResult as UpsertResult,
    _FETCH_CHUNK,
    SecondEmbedder,
    _row_input,
    _second,
    define_entries_table as define_entries_table,
    second_types,
    reindex_all as reindex_all,
    remove_source as remove_source,
    upsert_source as upsert_source,
    upsert_sources as upsert_sources,
)


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

BROAD_FILTER_SHARE = 0.2
"""A filter that may keep at least this share of the passages is checked on the nearest hits (_dense_top)."""


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


def _has_second(row: Any) -> bool:
    """Whether a row carries a second vector of the multilingual model this code loads."""
    return row.vector2 is not None and row.model2 == SECOND_MODEL and row.dim2 == SECOND_DIM


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


@dataclass(frozen=True)
class SyncResult:
    """What one sync() applied."""

    upserted: int
    removed: int
    watermark: int


class SnapshotVersionError(ValueError):
    """A saved snapshot of another format: rebuild from the table instead."""


class IndexCache:
    """A process's searchable copy of the entries table: vectors, BM25 and passage metadata.

    Entries of the table's second types (define_entries_table) are also held in a second vector index over
    their multilingual vectors (knowledge_index.multilingual): a query in CJK script searches those passages
    with that model, fused with BM25 (SECOND_FUSION), when the filter asks for nothing else.
    """

    def __init__(
        self,
        table: sa.Table,
        embedder: Embedder | None = None,
        *,
        fusion: Fusion = DEFAULT_FUSION,
        overlap: timedelta = DEFAULT_OVERLAP,
        store: VectorStore | None = None,
        second_embedder: SecondEmbedder | None = None,
    ) -> None:
        self.table = table
        self._embedder = embedder
        self._second_embedder = second_embedder
        self.fusion = fusion
        self.overlap = overlap
        self._store_template = store
        self._lock = _RWLock()
        self._sync_lock = threading.Lock()  # one sync/rebuild at a time; searches keep going
        self.snapshot: Path | None = None  # the snapshot directory this cache was loaded from
        self._reset(store)

    def _reset(self, store: VectorStore | None = None) -> None:
        # "is None", not "or": an empty store is falsy (it has a length), and its settings must be kept.
        self._store = store if store is not None else VectorStore(self.embedder.dim)
        # Small (the answerable passages only): exact search, never the HNSW of a million forum posts.
        self._store2 = VectorStore(SECOND_DIM)
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
    def second_embedder(self) -> SecondEmbedder:
        """The multilingual embedder, loaded on first use (a CJK query or a second-vector search)."""
        if self._second_embedder is None:
            self._second_embedder = _second(None)
        return self._second_embedder

    @property
    def second_store(self) -> VectorStore:
        """The second (multilingual) vector store."""
        return self._store2

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
        self._store2.remove([entry_id])
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
        add_ids2: list[int] = []
        add_vecs2: list[np.ndarray] = []
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
            if _has_second(r):
                add_ids2.append(r.id)
                add_vecs2.append(np.frombuffer(r.vector2, dtype="<f4"))
            upserted += 1
        if add_ids:
            self._store.add(add_ids, np.vstack(add_vecs))
        if add_ids2:
            self._store2.add(add_ids2, np.vstack(add_vecs2))
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
            fresh = IndexCache(self.table, self.embedder, fusion=self.fusion, overlap=self.overlap, store=self._store.empty_like(),
                               second_embedder=self._second_embedder)
            ids: list[int] = []
            vecs: list[np.ndarray] = []
            ids2: list[int] = []
            vecs2: list[np.ndarray] = []
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
                    if _has_second(r):
                        ids2.append(r.id)
                        vecs2.append(np.frombuffer(r.vector2, dtype="<f4"))
            fresh._store.build(ids, np.vstack(vecs) if vecs else np.zeros((0, self.embedder.dim), np.float32))
            fresh._store2.build(ids2, np.vstack(vecs2) if vecs2 else np.zeros((0, SECOND_DIM), np.float32))
            fresh.watermark = watermark
            self._lock.acquire_write()
            try:
                self._adopt(fresh)
            finally:
                self._lock.release_write()
            return len(ids)

    def _adopt(self, other: IndexCache) -> None:
        self._store, self._store2, self._lexical, self._entries = other._store, other._store2, other._lexical, other._entries
        self._by_type, self._by_meta = other._by_type, other._by_meta
        self._tombstone_seq, self.watermark = other._tombstone_seq, other.watermark

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Snapshot the cache into directory atomically (a new snapshot, then CURRENT switched)."""

        def fill(snap: Path) -> None:
            self._store.save(snap / "store")
            self._store2.save(snap / "store2")
            ids = list(self._entries)
            cols: dict[str, list[Any]] = {"id": ids, "tokens": [" ".join(self._lexical._tokens.get(i, ())) for i in ids]}
            for f in Entry.__slots__:
                cols[f] = [getattr(self._entries[i], f) for i in ids]
            (snap / "entries.json").write_text(json.dumps(cols, ensure_ascii=False))
            state = {
                "version": SNAPSHOT_VERSION,
                "model": self.embedder.model_name,
                "dim": self.embedder.dim,
                "model2": SECOND_MODEL,
                "dim2": SECOND_DIM,
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
        cls, directory: str | os.PathLike[str], table: sa.Table, embedder: Embedder | None = None, *,
        mmap: bool = False, **kwargs: Any
    ) -> IndexCache:
        """Load a saved snapshot (then call sync(conn) to catch up); empty cache if none saved.

        mmap=True maps the snapshot's main vector index read-only (VectorStore.load), so processes loading the
        same snapshot share its pages; what changed since goes to the private side index as sync applies it.
        """
        cache = cls(table, embedder, **kwargs)
        snap = current_snapshot(directory)
        if snap is None:
            return cache
        state = json.loads((snap / "state.json").read_text())
        if state.get("version") != SNAPSHOT_VERSION:
            raise SnapshotVersionError(f"saved index {snap} has format {state.get('version')}, not {SNAPSHOT_VERSION}")
        emb = cache.embedder
        if state["model"] != emb.model_name or state["dim"] != emb.dim:
            raise ModelMismatchError(f"{state['model']} (dim {state['dim']})", f"{emb.model_name} (dim {emb.dim})", f"saved index {snap}")
        cache._store = VectorStore.load(snap / "store", mmap=mmap)
        if state.get("model2") == SECOND_MODEL and state.get("dim2") == SECOND_DIM:
            cache._store2 = VectorStore.load(snap / "store2")
        else:  # the second vectors of another model are not searched: rebuilt when the table has them again
            raise ModelMismatchError(f"{state.get('model2')} (dim {state.get('dim2')})",
                                     f"{SECOND_MODEL} (dim {SECOND_DIM})", f"saved index {snap}")
        cache.snapshot = snap
        cols = json.loads((snap / "entries.json").read_text())
        for n, entry_id in enumerate(cols["id"]):
            entry = Entry(*(cols[f][n] for f in Entry.__slots__))
            cache._entries[entry_id] = entry
            cache._by_type.setdefault(entry.source_type, set()).add(entry_id)
            cache._by_doc.setdefault((entry.source_type, entry.source_id), set()).add(entry_id)
            for key, value in entry.meta.items():
                cache._by_meta.setdefault((key, _hashable(value)), set()).add(entry_id)
            cache._lexical.set_tokens(entry_id, cols["tokens"][n].split())
        cache.watermark = int(state["watermark"])
        cache._tombstone_seq = {int(k): int(v) for k, v in state["tombstones"]}
        return cache

    # ------------------------------------------------------------ search
    def _filter_sets(self, filters: Filters) -> list[set[int]]:
        sets: list[set[int]] = []
        for key, value in filters.items():
            if key == "source_type":
                values = [value] if isinstance(value, str) else list(value)
                sets.append(set().union(*(self._by_type.get(v, set()) for v in values)))
            else:
                sets.append(self._by_meta.get((key, _hashable(value)), set()))
        return sets

    def _filter_sizes(self, filters: Filters) -> list[int]:
        """How many entries each filter keeps, without building their union (that alone costs 20 ms at 500k)."""
        sizes = []
        for key, value in filters.items():
            if key == "source_type":
                values = {value} if isinstance(value, str) else set(value)
                sizes.append(sum(len(self._by_type.get(v, ())) for v in values))
            else:
                sizes.append(len(self._by_meta.get((key, _hashable(value)), ())))
        return sizes

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        sets = sorted(self._filter_sets(filters), key=len)
        allowed = set(sets[0]).intersection(*sets[1:])
        return np.fromiter(allowed, np.int64, len(allowed))

    def _matcher(self, filters: Filters) -> Callable[[int], bool]:
        """A test of one entry against filters, with the same meaning as _allowed's sets."""
        types = {filters["source_type"]} if isinstance(filters.get("source_type"), str) else set(filters.get("source_type") or ())
        meta = [(key, _hashable(value)) for key, value in filters.items() if key != "source_type"]

        def matches(entry_id: int) -> bool:
            e = self._entries.get(entry_id)
            if e is None or ("source_type" in filters and e.source_type not in types):
                return False
            return all(key in e.meta and _hashable(e.meta[key]) == value for key, value in meta)

        return matches

    def _dense_top(self, qvec: np.ndarray, n: int, filters: Filters | None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, cosines) of the n nearest passages that match filters; the caller holds the read lock.

        A filter that keeps most of the index (a page's "public threads and articles") is checked on the
        nearest hits instead of being handed to FAISS as an id set: building that set costs time in
        proportion to the whole index on every search (0.3 s per thread view at 500,000 passages), while
        checking a few hundred hits does not grow with it. Too few matches among them, and the id set is built.
        """
        q = qvec.reshape(1, -1)
        if filters:
            bound = min(self._filter_sizes(filters))  # at most this many entries can match
            if not bound:
                return np.zeros(0, np.int64), np.zeros(0, np.float32)
            share = bound / max(len(self._entries), 1)
            if share >= BROAD_FILTER_SHARE:
                wanted = min(int(n / share * 2) + 16, len(self._entries))
                d, i = self._store.search(q, wanted)
                found = i[0] >= 0
                matches = self._matcher(filters)
                keep = np.array([matches(int(x)) for x in i[0][found]], dtype=bool)
                ids, dense = i[0][found][keep], d[0][found][keep]
                if len(ids) >= n or found.sum() < wanted:
                    return ids[:n], dense[:n]
            allowed = self._allowed(filters)
            assert allowed is not None
            d, i = self._store.search(q, n, allowed=allowed)
        else:
            d, i = self._store.search(q, n)
        found = i[0] >= 0
        return i[0][found], d[0][found]

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
        """Hybrid search: top-k passages for query, fused per self.fusion, filtered.

        A query in CJK script over passages that all carry a second vector (filters name only second types)
        is ranked by the multilingual model fused with BM25 (SECOND_FUSION) instead.
        """
        second = query_vector is None and fusion is None and self.uses_second(query, filters)
        fusion = SECOND_FUSION if second else fusion or self.fusion
        store = self._store2 if second else self._store
        if second:
            qvec = self.second_embedder.encode_query(query)
        else:
            qvec = self.embedder.encode_query(query) if query_vector is None else np.asarray(query_vector, np.float32)
        self._lock.acquire_read()
        try:
            allowed = self._allowed(filters)
            if allowed is not None and not len(allowed):
                return []
            ranked = rank(store, self._lexical, qvec, query, k, fusion, allowed)
            return self._hits(ranked, query)
        finally:
            self._lock.release_read()

    def uses_second(self, query: str | None, filters: Filters | None) -> bool:
        """Whether search() ranks this query with the multilingual model: CJK script, and a filter that keeps
        only source types with second vectors (other passages have none to be ranked by)."""
        if not has_cjk(query) or not len(self._store2) or not filters or "source_type" not in filters:
            return False
        wanted = filters["source_type"]
        types = {wanted} if isinstance(wanted, str) else set(wanted)
        return bool(types) and types <= second_types(self.table)

    def second_candidates(self, query_vector: np.ndarray, query: str | None, n: int = 50,
                          filters: Filters | None = None, lexical: bool = True) -> list[Hit]:
        """Passages by the multilingual model: the union of its top-n and BM25's top-n among passages with a
        second vector, with both scores (score = dense), for a re-ranker; no sentence spans."""
        self._lock.acquire_read()
        try:
            allowed = self._allowed(filters)
            if allowed is not None and not len(allowed):
                return []
            ids, dense, lex = candidate_scores(self._store2, self._lexical, np.asarray(query_vector, np.float32),
                                               query, n, allowed, lexical)
            ranked = [(int(a), float(b), float(b), float(c)) for a, b, c in zip(ids, dense, lex, strict=True)]
            return self._hits(ranked, None)
        finally:
            self._lock.release_read()

    def document_lexical(self, query: str, documents: Iterable[tuple[str, str]] = (), n: int = 50,
                         filters: Filters | None = None) -> dict[tuple[str, str], float]:
        """Best BM25 score of each document among the given ones and those of the top-n passages matching
        filters: the lexical side of a document-level fusion (bot.engine, CJK questions)."""
        self._lock.acquire_read()
        try:
            full = self._lexical.scores(query)
            allowed = self._allowed(filters)
            ids = list(top_of(full, n, allowed)[0].tolist()) if allowed is None or len(allowed) else []
            docs = {(e.source_type, e.source_id) for i in ids if (e := self._entries.get(i)) is not None}
            docs.update((t, str(d)) for t, d in documents)
            members = {doc: sorted(self._by_doc.get(doc, ())) for doc in docs}
            every = np.fromiter((i for m in members.values() for i in m), np.int64)
            scores = dict(zip(every.tolist(), self._lexical.scores_for(full, every).tolist(), strict=True))
            return {doc: max((scores[i] for i in m), default=0.0) for doc, m in members.items()}
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
            ids, dense = self._dense_top(np.asarray(vector, np.float32), k, filters)
            return self._hits([(int(a), float(b), float(b), 0.0) for a, b in zip(ids, dense, strict=True)], None)
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
            ids, dense = self._dense_top(qvec, n, filters)
            lex = self._lexical.scores_for(self._lexical.scores(query), ids) if lexical else np.zeros(len(ids))
            ranked = [(int(a), float(b), float(b), float(c)) for a, b, c in zip(ids, dense, lex, strict=True)]
            return self._hits(ranked, query if spans else None)
        finally:
            self._lock.release_read()
