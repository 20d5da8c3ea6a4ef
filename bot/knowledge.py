"""What the bot can answer from: an ArticleModel over answerable documents, refit when the index changes."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import sqlalchemy as sa
from flask import Flask, current_app

from bot.calibration import fit_calibrated, off_topic_digest, off_topic_vectors
from bot.scoring import KIND_CODES, ArticleModel, BotSettings, settings_from_config
from community.extensions import db
from community.models import index_entries
from community.search import get_cache
from knowledge_index import native
from knowledge_index.embedder import get_embedder
from knowledge_index.multilingual import DIM as SECOND_DIM, MODEL_NAME as SECOND_MODEL, get_multilingual_embedder, language_of

log = logging.getLogger(__name__)

# Sources the bot may cite: help articles, accepted community answers, known beta issues.
ANSWERABLE = ("article", "answer", "beta_issue")
# Not cited, but met: a chat message that asks for an idea gets that idea (bot.idea_requests).
IDEA = "idea"
_EXT = "coknow_bot_knowledge"
_EXT_SECOND = "coknow_bot_knowledge_second"


def document_key(source_type: str, source_id: str) -> str:
    """The id the scorer uses for a document: "article:12"."""
    return f"{source_type}:{source_id}"


def split_key(key: str) -> tuple[str, str]:
    """Inverse of document_key."""
    source_type, _, source_id = key.partition(":")
    return source_type, source_id


def passage_kind(chunk_key: str, kind: str | None = None) -> str:
    """title / question / body / sentence / heading for a stored passage."""
    if kind in ("title", "question", "body", "sentence", "heading"):
        return kind
    if chunk_key == "title":
        return "title"
    return "question" if chunk_key.startswith("q:") else "body"


# Documents whose passages a process keeps for quoting (engine._best_passage).
PASSAGE_DOCUMENTS = 2000


@dataclasses.dataclass(frozen=True)
class StoredPassage:
    """One stored passage of a document, as the engine quotes it."""

    chunk_key: str
    kind: str  # passage_kind()
    heading_path: str
    text: str
    vector: np.ndarray


class BotKnowledge:
    """One app's fitted ArticleModel plus the index watermark it was fitted at.

    The model depends only on the answerable passages and the settings, so it is kept by a digest of
    those: in this process (an index change that touches no answerable passage, a forum post say, refits
    nothing) and in COKNOW_INDEX_DIR (the next start loads it in milliseconds instead of fitting for
    seconds). A process with no model for the current passages serves at once from a quick model (no
    classifier, this knowledge base's own similarity-only curve: cheap, and still calibrated) and fits
    the full one in the background; with `background_fit=False` (tests, jobs inline) a process's first
    fit is synchronous, and index changes after it are handled as above.
    """

    def __init__(self, index_dir: str | Path | None = None, background_fit: bool = True, second: bool = False) -> None:
        # second: fitted on the multilingual model's vectors (vector2) instead of MiniLM's, for questions in
        # CJK script and answers across languages (bot.engine); ideas stay with the MiniLM model.
        self.second = second
        self.lock = threading.Lock()
        self.model: ArticleModel | None = None
        self.watermark = -1
        self.digest = ""
        self.fitting: threading.Thread | None = None
        self.index_dir = Path(index_dir) if index_dir else None
        self.background_fit = background_fit
        self.meta: dict[str, dict[str, Any]] = {}
        self.titles: dict[str, str] = {}
        # "zh" for a document whose title is in CJK script, else "en": a reply says when its source is in
        # the other language than the question.
        self.languages: dict[str, str] = {}
        # Public ideas' passages (one row per passage) for exact matching against chat requests.
        self.idea_keys: np.ndarray = np.zeros(0, dtype=object)
        self.idea_vectors: np.ndarray = np.zeros((0, 0), np.float32)
        # A cited document's stored passages, as of an index watermark (engine._best_passage quotes from them).
        self._passages: OrderedDict[str, tuple[int, list[StoredPassage]]] = OrderedDict()
        self._passages_lock = threading.Lock()

    def passages_of(self, key: str) -> list[StoredPassage]:
        """The document's live passages with their vectors, read once per index watermark: the same few
        documents answer most questions, and reading their rows (vectors included) was 1-5 ms a reply."""
        watermark = get_cache().watermark
        with self._passages_lock:
            cached = self._passages.get(key)
            if cached is not None and cached[0] == watermark:
                self._passages.move_to_end(key)
                return cached[1]
        source_type, source_id = split_key(key)
        t = index_entries.c
        rows = db.session.execute(
            sa.select(t.chunk_key, t.kind, t.heading_path, t.text, (t.vector2 if self.second else t.vector).label("vector")).where(
                t.source_type == source_type, t.source_id == source_id, t.deleted.is_(False)
            )
        ).all()
        # The multilingual knowledge quotes by its own vectors (vector2), compared with its own query vector.
        passages = [StoredPassage(r.chunk_key, passage_kind(r.chunk_key, r.kind), r.heading_path or "", r.text,
                                  np.frombuffer(r.vector, dtype="<f4")) for r in rows if r.vector is not None]
        with self._passages_lock:
            self._passages[key] = (watermark, passages)
            self._passages.move_to_end(key)
            while len(self._passages) > PASSAGE_DOCUMENTS:
                self._passages.popitem(last=False)
        return passages

    def current(self, settings: BotSettings) -> ArticleModel | None:
        """The model for the index as it is now; refits (under a lock) when the index moved."""
        cache = get_cache()
        if cache.watermark != self.watermark:
            with self.lock:
                if cache.watermark != self.watermark:
                    self._fit(settings, cache.watermark)
        return self.model

    def _fit(self, settings: BotSettings, watermark: int) -> None:
        t = index_entries.c
        vector = t.vector2 if self.second else t.vector
        types = ANSWERABLE if self.second else (*ANSWERABLE, IDEA)
        rows = db.session.execute(
            sa.select(t.source_type, t.source_id, t.chunk_key, t.kind, t.title, t.meta, vector.label("vector"),
                      t.model2, t.dim2).where(t.deleted.is_(False), t.source_type.in_(types)).order_by(t.id)
        ).all()
        if self.second:  # a second vector of another model (before `flask coknow index-reindex`) is not compared
            rows = [r for r in rows if r.model2 == SECOND_MODEL and r.dim2 == SECOND_DIM]
        passages = []
        idea_keys: list[str] = []
        idea_vectors: list[np.ndarray] = []
        meta: dict[str, dict[str, Any]] = {}
        titles: dict[str, str] = {}
        languages: dict[str, str] = {}
        for r in rows:
            if (r.meta or {}).get("visibility", "public") != "public" or r.vector is None:
                continue
            key = document_key(r.source_type, r.source_id)
            if r.source_type == IDEA:
                idea_keys.append(key)
                idea_vectors.append(np.frombuffer(r.vector, dtype="<f4"))
                continue
            meta.setdefault(key, dict(r.meta or {}))
            titles.setdefault(key, r.title)
            languages.setdefault(key, language_of(r.title))
            if r.kind == "heading":
                continue  # picks the section to quote (engine._best_passage); too generic to rank by
            passages.append((key, passage_kind(r.chunk_key, r.kind), np.frombuffer(r.vector, dtype="<f4")))
        self.meta, self.titles, self.languages = meta, titles, languages
        self.idea_keys = np.asarray(idea_keys, dtype=object)
        self.idea_vectors = np.stack(idea_vectors) if idea_vectors else np.zeros((0, 0), np.float32)
        self.watermark = watermark
        if not passages:
            self.model, self.digest = None, ""
            return
        digest = model_digest(passages, settings, self.second)
        if digest == self.digest and self.model is not None:
            return  # what changed is not something the bot cites (a forum post, an idea)
        self.digest = digest
        fitted = self._known(digest)
        if fitted is not None:
            self.model = fitted
            return
        off_topic = off_topic_vectors(self.second)
        if not settings.w_classifier or (self.model is None and not self.background_fit):
            self._keep(digest, native.run(fit_calibrated, passages, settings, off_topic))
            return
        # The classifier and its per-knowledge-base curve take seconds to fit (15 classifier fits for a
        # small help center); passages, centroids and a similarity-only curve take milliseconds. Serve the
        # quick model at once (on the first question after start-up as after an index change) and swap in
        # the full fit when done. (Carrying an old classifier over would rank a just-published article
        # below the ones it knew: exactly the article customers ask about right after the capture loop
        # publishes it.) The quick model's curve is this knowledge base's own where it can be fitted, so
        # an uncovered question on a small help center is not shown the shipped curve's 0.9.
        self.model = native.run(fit_calibrated, passages, dataclasses.replace(settings, w_classifier=0.0), off_topic)
        thread = threading.Thread(target=self._fit_fully, args=(passages, settings, digest, off_topic), daemon=True,
                                  name="coknow-bot-fit")
        self.fitting = thread
        thread.start()

    def _fit_fully(self, passages: list, settings: BotSettings, digest: str, off_topic: np.ndarray) -> None:
        try:
            # Seconds of numpy and scikit-learn: off the event loop when greenlets serve (knowledge_index.native).
            model = native.run(fit_calibrated, passages, settings, off_topic)
        except Exception:  # the quick model keeps serving; the next index change retries
            log.exception("bot model fit failed")
            return
        with self.lock:
            if self.digest == digest:
                self._keep(digest, model)
            else:  # the passages moved on meanwhile; the fit is still right for these, for a later start
                _remember(digest, model)

    def _known(self, digest: str) -> ArticleModel | None:
        """A model already fitted for these passages: in this process, else saved in the index directory."""
        model = _fitted.get(digest)  # the digest names the model (model_digest), so the two never mix
        if model is not None:
            _fitted.move_to_end(digest)
            return model
        path = self._path(digest)
        if path is None or not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as arrays:
                model = ArticleModel.from_arrays(arrays)
        except Exception:  # only a cache: an unreadable file is fitted again
            log.warning("saved bot model %s unusable; fitting again", path, exc_info=True)
            return None
        _remember(digest, model)
        return model

    def _keep(self, digest: str, model: ArticleModel) -> None:
        """Serve model, and keep it for this process and (atomically written) for the next start."""
        self.model = model
        _remember(digest, model)
        path = self._path(digest)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
            np.savez(tmp, allow_pickle=False, **model.to_arrays())
            os.replace(tmp, path)
            for old in path.parent.glob(f"{SECOND_MODEL_FILE_PREFIX if self.second else MODEL_FILE_PREFIX}*.npz"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError as exc:  # a read-only index directory still serves; the next start fits again
            log.warning("could not keep the bot model in %s: %s", path.parent, exc)

    def _path(self, digest: str) -> Path | None:
        prefix = SECOND_MODEL_FILE_PREFIX if self.second else MODEL_FILE_PREFIX
        return self.index_dir / f"{prefix}{digest}.npz" if self.index_dir else None

    def idea_scores(self, query_vector: np.ndarray) -> dict[str, float]:
        """Each public idea's best passage cosine to the query (exact; ideas number in the thousands)."""
        keys, vectors = self.idea_keys, self.idea_vectors
        if not len(keys):
            return {}
        best: dict[str, float] = {}
        for key, score in zip(keys, vectors @ query_vector, strict=True):
            if score > best.get(key, -2.0):
                best[key] = float(score)
        return best

    def passage_cosine(self, key: str, query_vector: np.ndarray) -> float | None:
        """A citable document's best passage cosine to the query, on the same scale as idea_scores."""
        model = self.model
        i = model.index.get(key) if model is not None else None
        if model is None or i is None:
            return None
        # Titles, questions and body passages only: a single body sentence matches any message that
        # names its topic ("dark mode follows your system setting" vs "can you add dark mode"), which
        # is not the article answering it.
        own = slice(int(model.starts[i]), int(model.ends[i]))
        whole = model.passage_kind[own] != KIND_CODES["sentence"]
        if not whole.any():
            return None
        return float((model.passage_vectors[own][whole] @ query_vector).max())

    def wait_until_fitted(self, timeout: float | None = None) -> None:
        """Block until a background fit has finished (benchmarks, evaluation)."""
        thread = self.fitting
        if thread is not None:
            thread.join(timeout)


# Fitted models by digest of what they were fitted on, shared by the apps of a process (one in
# production; tests build an app per test over the same few help centers).
_fitted: OrderedDict[str, ArticleModel] = OrderedDict()
_FITTED_KEEP = 4
MODEL_FILE_PREFIX = "bot-model-"
SECOND_MODEL_FILE_PREFIX = "bot-model2-"
# Bumped when fitting changes in a way the settings do not show, so a saved model of the old fit is not loaded.
FIT_VERSION = "1"


def _remember(digest: str, model: ArticleModel) -> None:
    _fitted[digest] = model
    _fitted.move_to_end(digest)
    while len(_fitted) > _FITTED_KEEP:
        _fitted.popitem(last=False)


def model_digest(passages: Sequence[tuple[str, str, np.ndarray]], settings: BotSettings, second: bool = False) -> str:
    """What a fitted model depends on: the passages (document, kind, vector, in order), the settings,
    the off-topic pool and the fit itself."""
    h = hashlib.sha256(f"{FIT_VERSION}|{settings!r}|{off_topic_digest(second=second)}".encode())
    for key, kind, vector in passages:
        h.update(f"|{key}|{kind}|".encode())
        h.update(np.ascontiguousarray(vector, dtype="<f4").tobytes())
    return h.hexdigest()[:24]


def knowledge(app: Flask | None = None) -> BotKnowledge:
    """This app's BotKnowledge: models saved in COKNOW_INDEX_DIR; fitted in the background unless the
    app runs its jobs inline (tests), or COKNOW_BACKGROUND_FITS says otherwise."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    state = app.extensions.get(_EXT)
    if state is None:
        background = app.config.get("COKNOW_BACKGROUND_FITS")
        if background is None:
            background = not app.config.get("TESTING") and app.config.get("COKNOW_JOBS_URL") != "immediate"
        state = app.extensions.setdefault(_EXT, BotKnowledge(app.config.get("COKNOW_INDEX_DIR"), bool(background)))
    return state


def second_knowledge(app: Flask | None = None) -> BotKnowledge:
    """This app's BotKnowledge over the multilingual vectors (fitted like knowledge()'s, on first use: the
    first Chinese question, not start-up, loads the multilingual model)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    state = app.extensions.get(_EXT_SECOND)
    if state is None:
        first = knowledge(app)
        state = app.extensions.setdefault(_EXT_SECOND, BotKnowledge(first.index_dir, first.background_fit, second=True))
    return state


# One question per help-center language, encoded and searched at start-up: it loads what only a question
# loads (the multilingual model's weights, the index's BM25 view, jieba's dictionary for Chinese: ~4 s that
# every question of a server's first seconds waited behind, issue 21). What it asks does not matter.
WARM_UP_QUESTIONS = {"en": "how do I reset my password", "zh": "如何重置密码"}


def warm_up(app: Flask) -> threading.Thread:
    """Load the index and the bot's model in a background thread, so the first question after start-up
    does not wait for them (connected to community.hooks.server_starting)."""

    def run() -> None:
        from bot.kinds import classifier

        try:
            with app.app_context():
                settings = settings_from_config(app.config)
                knowledge(app).current(settings)
                if "zh" in knowledge(app).languages.values():
                    # A help center with Chinese articles asks the multilingual model for every question
                    # (bot.engine): load it and fit its article model now too. An English-only one never does.
                    second_knowledge(app).current(settings)
                classifier()
                languages = set(knowledge(app).languages.values())
                for language in sorted(languages & set(WARM_UP_QUESTIONS)):
                    get_embedder().encode_query(WARM_UP_QUESTIONS[language])
                    if "zh" in languages:
                        get_multilingual_embedder().encode_query(WARM_UP_QUESTIONS[language])
                    get_cache(sync=False).document_lexical(WARM_UP_QUESTIONS[language])
                db.session.remove()
        except Exception:  # the first question loads them instead
            log.exception("bot warm-up failed")

    thread = threading.Thread(target=run, daemon=True, name="coknow-bot-warm-up")
    thread.start()
    return thread
