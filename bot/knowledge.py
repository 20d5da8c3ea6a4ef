"""What the bot can answer from: an ArticleModel over answerable documents, refit when the index changes."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask, current_app

from bot.scoring import ArticleModel, BotSettings
from community.extensions import db
from community.models import index_entries
from community.search import get_cache

# Sources the bot may cite: help articles, accepted community answers, known beta issues.
ANSWERABLE = ("article", "answer", "beta_issue")
_EXT = "coknow_bot_knowledge"


def document_key(source_type: str, source_id: str) -> str:
    """The id the scorer uses for a document: "article:12"."""
    return f"{source_type}:{source_id}"


def split_key(key: str) -> tuple[str, str]:
    """Inverse of document_key."""
    source_type, _, source_id = key.partition(":")
    return source_type, source_id


def passage_kind(chunk_key: str, kind: str | None = None) -> str:
    """title / question / body for a stored passage."""
    if kind in ("title", "question", "body"):
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
        self.meta: dict[str, dict[str, Any]] = {}
        self.titles: dict[str, str] = {}

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
                t.deleted.is_(False), t.source_type.in_(ANSWERABLE)
            ).order_by(t.id)
        ).all()
        passages = []
        meta: dict[str, dict[str, Any]] = {}
        titles: dict[str, str] = {}
        for r in rows:
            if (r.meta or {}).get("visibility", "public") != "public" or r.vector is None:
                continue
            key = document_key(r.source_type, r.source_id)
            meta.setdefault(key, dict(r.meta or {}))
            titles.setdefault(key, r.title)
            passages.append((key, passage_kind(r.chunk_key, r.kind), np.frombuffer(r.vector, dtype="<f4")))
        self.model = ArticleModel.fit(passages, settings) if passages else None
        self.meta, self.titles = meta, titles
        self.watermark = watermark


def knowledge(app: Flask | None = None) -> BotKnowledge:
    """This app's BotKnowledge."""
    app = app or current_app._get_current_object()
    state = app.extensions.get(_EXT)
    if state is None:
        state = app.extensions.setdefault(_EXT, BotKnowledge())
    return state
