"""What the bot can answer from: an ArticleModel over answerable documents, refit when the index changes."""
from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask, current_app

from bot.calibration import fit_calibrated, off_topic_vectors
from bot.scoring import KIND_CODES, ArticleModel, BotSettings
from community.extensions import db
from community.models import index_entries
from community.search import get_cache
from knowledge_index.embedder import get_embedder

log = logging.getLogger(__name__)

# Sources the bot may cite: help articles, accepted community answers, known beta issues.
ANSWERABLE = ("article", "answer", "beta_issue")
# Not cited, but met: a chat message that asks for an idea gets that idea (bot.idea_requests).
IDEA = "idea"
_EXT = "coknow_bot_knowledge"


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


class BotKnowledge:
    """One app's fitted ArticleModel plus the index watermark it was fitted at."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: ArticleModel | None = None
        self.watermark = -1
        self.fitting: threading.Thread | None = None
        self.meta: dict[str, dict[str, Any]] = {}
        self.titles: dict[str, str] = {}
        # Public ideas' passages (one row per passage) for exact matching against chat requests.
        self.idea_keys: np.ndarray = np.zeros(0, dtype=object)
        self.idea_vectors: np.ndarray = np.zeros((0, 0), np.float32)

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
        rows = db.session.execute(
            sa.select(t.source_type, t.source_id, t.chunk_key, t.kind, t.title, t.meta, t.vector).where(
                t.deleted.is_(False), t.source_type.in_((*ANSWERABLE, IDEA))
            ).order_by(t.id)
        ).all()
        passages = []
        idea_keys: list[str] = []
        idea_vectors: list[np.ndarray] = []
        meta: dict[str, dict[str, Any]] = {}
        titles: dict[str, str] = {}
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
            if r.kind == "heading":
                continue  # picks the section to quote (engine._best_passage); too generic to rank by
            passages.append((key, passage_kind(r.chunk_key, r.kind), np.frombuffer(r.vector, dtype="<f4")))
        self.meta, self.titles = meta, titles
        self.idea_keys = np.asarray(idea_keys, dtype=object)
        self.idea_vectors = np.stack(idea_vectors) if idea_vectors else np.zeros((0, 0), np.float32)
        self.watermark = watermark
        if not passages:
            self.model = None
            return
        # The shipped off-topic pool, embedded once per process: part of what calibrates this help
        # center's own confidence curve (bot.calibration).
        off_topic = off_topic_vectors(get_embedder().encode)
        if self.model is None or not settings.w_classifier:
            self.model = fit_calibrated(passages, settings, off_topic)
            return
        # The classifier takes seconds to train; passages and centroids take milliseconds. Serve
        # the new passages at once without a classifier, and swap in a full fit when done. (Carrying
        # the old classifier over would rank a just-published article below the ones it knew:
        # exactly the article customers ask about right after the capture loop publishes it.)
        self.model = fit_calibrated(passages, dataclasses.replace(settings, w_classifier=0.0), off_topic)
        thread = threading.Thread(target=self._fit_fully, args=(passages, settings, watermark, off_topic), daemon=True,
                                  name="coknow-bot-fit")
        self.fitting = thread
        thread.start()

    def _fit_fully(self, passages: list, settings: BotSettings, watermark: int, off_topic: np.ndarray) -> None:
        try:
            model = fit_calibrated(passages, settings, off_topic)
        except Exception:  # the quick model keeps serving; the next index change retries
            log.exception("bot model fit failed")
            return
        with self.lock:
            if self.watermark == watermark:
                self.model = model

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


def knowledge(app: Flask | None = None) -> BotKnowledge:
    """This app's BotKnowledge."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    state = app.extensions.get(_EXT)
    if state is None:
        state = app.extensions.setdefault(_EXT, BotKnowledge())
    return state
