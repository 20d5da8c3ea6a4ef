"""The app's one adapter to knowledge_index: index content, search it, find similar documents.

Each app (process) keeps one IndexCache, loaded from its snapshot in COKNOW_INDEX_DIR on first
use and caught up with the index_entries table: at once after this process commits a change,
otherwise at most every COKNOW_INDEX_SYNC_SECONDS. Content writes go through index_document /
remove_document inside the content's own transaction, so the table never disagrees with content.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import numpy as np
from flask import Flask, current_app
from sqlalchemy import func, select

from knowledge_index.chunking import HEADING_SEP, article_passages, embed_input, is_part_passage
from knowledge_index.embedder import Embedder, get_embedder
from knowledge_index.multilingual import (
    DIM as SECOND_DIM,
    MODEL_NAME as SECOND_MODEL,
    MultilingualEmbedder,
    get_multilingual_embedder,
)
from knowledge_index.table import remove_source, upsert_source

if TYPE_CHECKING:  # FAISS and BM25 load when the index is first used, not when the app starts
    from knowledge_index.search import Hit
    from knowledge_index.sync import IndexCache

from community.extensions import db
from community.models import index_entries
from community.realtime import after_commit

log = logging.getLogger(__name__)

# Cosine above which two short texts are offered as "the same thing" (ideas, threads, gaps).
# Measured on same-intent vs different-intent question pairs of the development sets (bench/RESULTS.md).
DUPLICATE_THRESHOLD = 0.72
SOURCE_TYPES = ("article", "thread", "answer", "idea", "beta_issue", "beta_report")
_EXT = "coknow_index"


@dataclass(frozen=True)
class SearchHit:
    source_type: str
    source_id: str
    title: str
    text: str
    heading_path: list[str]
    score: float
    span: tuple[int, int] | None
    meta: dict[str, Any]
    dense_score: float = 0.0


@dataclass(frozen=True)
class DocumentMatch:
    source_type: str
    source_id: str
    title: str
    score: float
    text: str
    meta: dict[str, Any]


class _AppIndex:
    """One app's cache plus the bookkeeping of when it last caught up."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.syncing = threading.Lock()
        self.cache: IndexCache | None = None
        self.dirty = True
        self.last_sync = 0.0
        self.applied_since_save = 0
        # related_documents answers, keyed by what they depend on: the question and the index's change
        # sequence (its watermark), so a page view reads them and any index change makes them anew.
        self.related: OrderedDict[tuple[Any, ...], list[DocumentMatch]] = OrderedDict()
        self.related_lock = threading.Lock()
        self.switching = False  # a newer mapped snapshot is being loaded beside the cache in use
        self.unusable: Path | None = None  # a snapshot that failed to load: not tried again every catch-up

    @property
    def mapped(self) -> bool:
        return bool(self.app.config.get("COKNOW_INDEX_MAP_SNAPSHOT", False))

    def get(self) -> IndexCache:
        if self.cache is None:
            with self.lock:
                if self.cache is None:
                    self.cache = self._load()
        return self.cache

    def _load(self) -> IndexCache:
        from knowledge_index.sync import IndexCache  # the first search pays for FAISS and BM25, not create_app

        directory = self.app.config["COKNOW_INDEX_DIR"]
        try:
            cache = IndexCache.load(directory, index_entries, get_embedder(), mmap=self.mapped)
        except Exception:  # an unreadable or foreign snapshot is only a cache: rebuild instead
            log.warning("index snapshot in %s unusable; rebuilding from the database", directory, exc_info=True)
            cache = IndexCache(index_entries, get_embedder())
            with db.engine.connect() as conn:
                cache.rebuild(conn)
        return cache

    def catch_up(self, force: bool = False) -> None:
        cache = self.get()
        interval = float(self.app.config.get("COKNOW_INDEX_SYNC_SECONDS", 2.0))
        now = time.monotonic()
        if not (force or self.dirty or now - self.last_sync >= interval):
            return
        # One request catches up at a time, and a turn is waited for before taking a connection: when each
        # request took its second connection and then waited inside the sync, twenty thread views on a large
        # index held every pooled connection and the site stopped (a 2M-post community, bench/RESULTS.md).
        # Only the periodic catch-up is skipped while another runs (it searches what is there, one interval
        # old at most); after this process's own write (dirty) it waits, so a writer reads its write.
        if not self.syncing.acquire(blocking=force or self.dirty):
            return
        try:
            self.dirty = False
            self.last_sync = now
            # A separate connection: the request's session may hold an older snapshot (SQLite).
            with db.engine.connect() as conn:
                result = cache.sync(conn)
            self.applied_since_save += result.upserted + result.removed
            if self.mapped and not self.switching:  # under the sync lock: one switch at a time
                self._switch_if_newer(cache)
        finally:
            self.syncing.release()

    def _switch_if_newer(self, cache: IndexCache) -> None:
        """Start loading a newer snapshot in the background when one was written (a mapped index never merges,
        so its side index only shrinks by moving to the next snapshot; requests keep the old one meanwhile)."""
        from knowledge_index.store import current_snapshot

        newest = current_snapshot(self.app.config["COKNOW_INDEX_DIR"])
        if newest is None or newest in (cache.snapshot, self.unusable):
            return
        self.switching = True
        threading.Thread(target=self._switch, args=(newest,), name="coknow-index-switch", daemon=True).start()

    def _switch(self, newest: Path) -> None:
        from knowledge_index.sync import IndexCache

        try:
            with self.app.app_context():
                fresh = IndexCache.load(self.app.config["COKNOW_INDEX_DIR"], index_entries, get_embedder(), mmap=True)
                with db.engine.connect() as conn:
                    fresh.sync(conn)  # the bulk of the catch-up, while requests still use the old cache
                with self.syncing, db.engine.connect() as conn:
                    fresh.sync(conn)
                    self.cache = fresh
            log.info("index switched to snapshot %s", fresh.snapshot)
        except Exception:  # the old cache keeps serving until a snapshot after this one loads
            self.unusable = newest
            log.warning("could not switch to the index snapshot %s", newest, exc_info=True)
        finally:
            self.switching = False


def freshness() -> dict[str, Any]:
    """How far this process's cache is behind the index table: changes not applied yet, and when it last looked.

    Does not load the cache: a process that has not searched yet reports that instead.
    """
    state = _state()
    with db.engine.connect() as conn:
        newest = conn.execute(select(func.max(index_entries.c.seq))).scalar() or 0
    if state.cache is None:
        return {"loaded": False, "table_seq": int(newest)}
    return {
        "loaded": True,
        "table_seq": int(newest),
        "watermark": int(state.cache.watermark),
        "behind": max(0, int(newest) - int(state.cache.watermark)),
        "seconds_since_sync": round(time.monotonic() - state.last_sync, 1) if state.last_sync else None,
        "passages": len(state.cache),
        # With a mapped snapshot everything since it sits in the private side index: when this grows, an
        # operator builds the next snapshot (flask coknow index-snapshot).
        "mapped_snapshot": state.cache.store.mapped,
        "side_index": state.cache.store.side_size,
    }


def _state(app: Flask | None = None) -> _AppIndex:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    state = app.extensions.get(_EXT)
    if state is None:
        state = app.extensions.setdefault(_EXT, _AppIndex(app))
    return state


def get_cache(sync: bool = True) -> IndexCache:
    """This process's index, caught up with committed changes."""
    state = _state()
    if sync:
        state.catch_up()
    return state.get()


class _EmbeddingMemo:
    """Process-wide memo of passage embeddings by exact input text (bounded, least recently used out).

    Re-imports, re-indexing an edited document and test runs on a second database
    ask for the same texts again; the model is the costly part of indexing.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        # Open recordings (embedding_file): the texts asked for, and how many the model had to encode.
        self._recordings: list[_Recording] = []

    def encode(self, embedder: Embedder | MultilingualEmbedder, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            for recording in self._recordings:
                recording.texts.update(texts)
                recording.encoded += len(missing)
        if missing:
            fresh = embedder.encode(missing, **kwargs)
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
        with self._lock:
            out = []
            for t in texts:
                vec = self._vectors.get(t)
                if vec is None:  # evicted by a concurrent batch between the two steps
                    vec = embedder.encode([t])[0]
                    self._vectors[t] = vec
                self._vectors.move_to_end(t)
                out.append(vec)
            while len(self._vectors) > self.limit:
                self._vectors.popitem(last=False)
        return np.stack(out) if out else np.zeros((0, embedder.dim), np.float32)

    @contextmanager
    def recording(self, known: dict[str, np.ndarray]) -> Iterator[_Recording]:
        """Add known vectors, then record the texts asked for inside the block and how many were encoded."""
        recording = _Recording()
        with self._lock:
            self._vectors.update(known)
            self._recordings.append(recording)
        try:
            yield recording
        finally:
            with self._lock:
                self._recordings.remove(recording)


@dataclass
class _Recording:
    texts: set[str] = field(default_factory=set)
    encoded: int = 0


_memo = _EmbeddingMemo()
# The multilingual model's vectors (the passages the bot answers from), memoised the same way.
_memo2 = _EmbeddingMemo()


def second_embeddings_path(path: Path) -> Path:
    """Where embedding_file keeps the multilingual model's vectors, beside MiniLM's in path."""
    return path.with_name(f"{path.stem}-{SECOND_MODEL}{path.suffix}")


@contextmanager
def embedding_file(path: Path) -> Iterator[None]:
    """Index with the embeddings saved in path, and save them there (with the new ones) afterwards if the
    model had to encode any: for a fixed data set indexed again and again (the demo seed in every test run
    and fresh install; path names the data). Vectors are looked up by their exact input text, so a stale
    file is only slower, never wrong. The multilingual model's vectors go to second_embeddings_path(path)."""
    second_path = second_embeddings_path(path)
    loaded = _load_embeddings(path)
    loaded2 = _load_embeddings(second_path)
    with _memo.recording(loaded) as recording, _memo2.recording(loaded2) as recording2:
        yield
    if recording.encoded:
        _save_embeddings(path, sorted(recording.texts | set(loaded)), _memo, get_embedder)
    if recording2.encoded:
        _save_embeddings(second_path, sorted(recording2.texts | set(loaded2)), _memo2, get_multilingual_embedder)


def _save_embeddings(path: Path, texts: list[str], memo: _EmbeddingMemo, model: Any) -> None:
    vectors = memo.encode(model(), texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, texts=np.frombuffer(json.dumps(texts).encode("utf-8"), np.uint8), vectors=vectors)
        os.replace(tmp, path)  # a concurrent reader sees the whole file or the old one
    except OSError as exc:  # only a cache
        log.warning("could not keep embeddings at %s: %s", path, exc)


def _load_embeddings(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            texts = json.loads(data["texts"].tobytes().decode("utf-8"))
            vectors = np.asarray(data["vectors"], np.float32)
        if len(texts) != len(vectors):
            raise ValueError("texts and vectors differ in number")
    except (OSError, ValueError, KeyError):
        log.warning("saved embeddings %s unusable; encoding again", path, exc_info=True)
        return {}
    return dict(zip(texts, vectors, strict=True))


class _MemoEmbedder:
    """A process model behind its memo, loaded on first use; everything but encode passes through.
    known: attributes readable without loading the model (the multilingual one loads only when needed)."""

    def __init__(self, memo: _EmbeddingMemo, model: Callable[[], Any], **known: Any) -> None:
        self._memo = memo
        self._model = model
        self.__dict__.update(known)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model(), name)

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return self._memo.encode(self._model(), texts, **kwargs)


def batch_embedding(documents: Sequence[tuple[str, str, str, Sequence[str]]], *, lead_paragraph: bool = False,
                    with_sentences: bool = False, second: bool = False) -> None:
    """Embed the passages of many (title, body, format, questions) documents in one model call,
    so the index_document calls that follow find them ready (bulk imports). The flags must be the ones
    those calls pass: they decide the passages, and a passage made differently is encoded again, one
    document at a time. second: the documents are of a type with second vectors (MULTILINGUAL_SOURCES);
    the multilingual model encodes them too."""
    embedder = get_embedder()
    inputs: list[str] = []
    for title, body, fmt, questions in documents:
        for passage in article_passages(title, body, fmt, questions, count_tokens=embedder.count_tokens,
                                        lead_paragraph=lead_paragraph, with_sentences=with_sentences):
            inputs.append(embed_input(title, passage))
    _memo.encode(embedder, inputs)
    if second:
        _memo2.encode(get_multilingual_embedder(), inputs)


def _embedder() -> Embedder:
    return _MemoEmbedder(_memo, get_embedder)  # type: ignore[return-value]


def encode_texts(texts: Sequence[str]) -> np.ndarray:
    """Vectors for texts from this process's memo: the model encodes only those it has not seen (inside
    embedding_file, those the file does not hold either)."""
    return _memo.encode(get_embedder(), texts)


def _mark_dirty() -> None:
    state = _state()
    after_commit(lambda: setattr(state, "dirty", True))


def index_document(
    source_type: str,
    source_id: int | str,
    *,
    title: str,
    body: str,
    fmt: str = "markdown",
    questions: Sequence[str] = (),
    meta: dict[str, Any] | None = None,
    lead_paragraph: bool = False,
    with_sentences: bool = False,
) -> None:
    """Write a document's passages to the index table in the caller's transaction (no commit).

    lead_paragraph: the body opens with the question it answers, which then starts every passage.
    with_sentences: each body sentence is a passage too (help articles: the bot matches questions to them).
    """
    embedder = _embedder()
    passages = article_passages(title, body, fmt, questions, count_tokens=embedder.count_tokens,
                                lead_paragraph=lead_paragraph, with_sentences=with_sentences)
    upsert_source(
        db.session.connection(), index_entries, source_type, str(source_id), passages,
        {k: v for k, v in (meta or {}).items() if v is not None}, embedder, title=title,
        second_embedder=_MemoEmbedder(_memo2, get_multilingual_embedder, model_name=SECOND_MODEL, dim=SECOND_DIM),
    )
    _mark_dirty()


def remove_document(source_type: str, source_id: int | str) -> None:
    """Remove a document's passages from the index table in the caller's transaction."""
    if remove_source(db.session.connection(), index_entries, source_type, str(source_id)):
        _mark_dirty()


def _filters(source_types: Iterable[str] | None, filters: dict[str, Any] | None) -> dict[str, Any] | None:
    merged: dict[str, Any] = dict(filters or {})
    if source_types is not None:
        merged["source_type"] = set(source_types)
    return merged or None


def _to_hit(hit: Hit) -> SearchHit:
    path = hit.heading_path.split(HEADING_SEP) if hit.heading_path else []
    return SearchHit(hit.source_type, hit.source_id, hit.title, hit.text, path, float(hit.score),
                     (hit.span[0], hit.span[1]) if hit.span else None, dict(hit.meta), float(hit.dense_score))


def search(
    query: str, k: int = 10, *, source_types: Iterable[str] | None = None, filters: dict[str, Any] | None = None
) -> list[SearchHit]:
    """Hybrid (dense + BM25) search over passages; best first. A help article's sentence and heading
    passages are the bot's (to match and to quote); readers get whole passages."""
    if not query.strip():
        return []
    hits = get_cache().search(query, 3 * k, _filters(source_types, filters))
    return [_to_hit(h) for h in hits if not is_part_passage(h.chunk_key)][:k]


def search_documents(
    query: str, k: int = 10, *, source_types: Iterable[str] | None = None, filters: dict[str, Any] | None = None
) -> list[SearchHit]:
    """Like search, but one hit per document (its best passage)."""
    seen: set[tuple[str, str]] = set()
    out: list[SearchHit] = []
    for hit in search(query, k * 4, source_types=source_types, filters=filters):
        key = (hit.source_type, hit.source_id)
        if key not in seen:
            seen.add(key)
            out.append(hit)
        if len(out) == k:
            break
    return out


def similar(
    text: str,
    *,
    source_types: Iterable[str],
    k: int = 5,
    exclude: Iterable[tuple[str, str]] = (),
    min_score: float | None = None,
    filters: dict[str, Any] | None = None,
) -> list[DocumentMatch]:
    """Documents whose passages mean the same as text, by dense cosine; one match per document."""
    if not text.strip():
        return []
    skip = {(t, str(i)) for t, i in exclude}
    best: dict[tuple[str, str], DocumentMatch] = {}
    for hit in get_cache().candidates(text, max(k * 8, 40), _filters(source_types, filters), lexical=False, spans=False):
        key = (hit.source_type, hit.source_id)
        score = float(hit.dense_score)
        if key in skip or (min_score is not None and score < min_score):
            continue
        if key not in best or score > best[key].score:
            best[key] = DocumentMatch(hit.source_type, hit.source_id, hit.title, score, hit.text, dict(hit.meta))
    return sorted(best.values(), key=lambda m: -m.score)[:k]


RELATED_MEMO_SIZE = 20_000


def related_documents(
    source_type: str,
    source_id: int | str,
    *,
    source_types: Iterable[str],
    k: int = 5,
    min_score: float | None = None,
    filters: dict[str, Any] | None = None,
) -> list[DocumentMatch]:
    """Documents close to a stored document, from its stored vectors: no model work on a page view, and
    no index search either while the index is unchanged (answers are kept per index change sequence)."""
    state = _state()
    cache = get_cache()
    types = tuple(source_types)
    key = (cache.watermark, source_type, str(source_id), types, k, min_score,
           tuple(sorted((name, repr(value)) for name, value in (filters or {}).items())))
    with state.related_lock:
        found = state.related.get(key)
        if found is not None:
            state.related.move_to_end(key)
            return list(found)
    matches = _related_now(cache, source_type, source_id, types, k, min_score, filters)
    with state.related_lock:
        state.related[key] = matches
        while len(state.related) > RELATED_MEMO_SIZE:
            state.related.popitem(last=False)
    return list(matches)


def _related_now(cache: IndexCache, source_type: str, source_id: int | str, source_types: Iterable[str], k: int,
                 min_score: float | None, filters: dict[str, Any] | None) -> list[DocumentMatch]:
    vector = cache.document_vector(source_type, str(source_id))
    if vector is None:
        return []
    best: dict[tuple[str, str], DocumentMatch] = {}
    for hit in cache.search_vector(vector, max(k * 8, 40), _filters(source_types, filters)):
        key = (hit.source_type, hit.source_id)
        score = float(hit.dense_score)
        if key == (source_type, str(source_id)) or (min_score is not None and score < min_score):
            continue
        if key not in best or score > best[key].score:
            best[key] = DocumentMatch(hit.source_type, hit.source_id, hit.title, score, hit.text, dict(hit.meta))
    return sorted(best.values(), key=lambda m: -m.score)[:k]


def save_snapshot(app: Flask | None = None) -> None:
    """Write this process's cache to COKNOW_INDEX_DIR so the next start loads instead of rebuilding."""
    state = _state(app)
    cache = state.get()
    state.catch_up(force=True)
    cache.save(state.app.config["COKNOW_INDEX_DIR"])
    state.applied_since_save = 0


def build_snapshot(app: Flask | None = None) -> tuple[int, Path]:
    """Build the index afresh from the table and save it as the snapshot processes start from (a release
    snapshot: recent rows merged into the graph, tombstones dropped); returns (passages, snapshot directory).

    Builds a cache of its own rather than this process's: the saved one need not be loaded first."""
    from knowledge_index.sync import IndexCache

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cache = IndexCache(index_entries, get_embedder())
    with db.engine.connect() as conn:
        passages = cache.rebuild(conn)
    return passages, cache.save(app.config["COKNOW_INDEX_DIR"])


def rebuild(app: Flask | None = None) -> int:
    """Rebuild this process's cache from the table; returns the number of live passages."""
    state = _state(app)
    cache = state.get()
    with db.engine.connect() as conn:
        return cache.rebuild(conn)


def stored_passages(source_type: str, source_ids: Iterable[int | str]) -> list[tuple[str, str, np.ndarray]]:
    """(source id, passage kind, vector) of the documents' stored passages: read from the index table,
    so comparing stored content needs neither the model nor a search."""
    ids = [str(i) for i in source_ids]
    if not ids:
        return []
    rows = db.session.execute(
        select(index_entries.c.source_id, index_entries.c.kind, index_entries.c.vector).where(
            index_entries.c.source_type == source_type, index_entries.c.source_id.in_(ids),
            index_entries.c.deleted.is_(False), index_entries.c.vector.is_not(None))
    ).all()
    return [(sid, kind, np.frombuffer(blob, dtype="<f4")) for sid, kind, blob in rows]
