"""Fixtures for the chat tests: a small real help center (real model, real FAISS) and session helpers.

Imported by the chat test modules (tests/bot/conftest.py belongs to the scoring tests).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from community.extensions import db
from community.kb.services import create_article
from community.models import Article, ArticleStatus

SEED = Path(__file__).resolve().parents[2] / "community" / "seed_data" / "articles.jsonl"
ARTICLES = ("refund-policy", "reset-password", "install-android", "install-ios", "export-markdown-pdf-html")
# Clearly outside a note-taking app's help center: the bot abstains on it.
UNRELATED = "what is the weather in Paris tomorrow"



def _records() -> dict[str, dict]:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    return {r["id"]: r for r in map(json.loads, filter(None, lines))}


@pytest.fixture
def help_center(app) -> Iterator[dict[str, Article]]:
    """Five published Tidepool help articles, indexed; keyed by slug."""
    records = _records()
    articles = {
        slug: create_article(records[slug]["title"], records[slug]["body"],
                             questions=records[slug]["questions"], status=ArticleStatus.published, slug=slug)
        for slug in ARTICLES
    }
    db.session.commit()
    yield articles


@pytest.fixture
def force_clarify(app):
    """Settings under which any two plausible articles are 'too close to call'."""
    app.config["COKNOW_BOT_ANSWER_PROBABILITY"] = 0.05
    app.config["COKNOW_BOT_CLARIFY_MARGIN"] = 2.0
    yield
    app.config.pop("COKNOW_BOT_ANSWER_PROBABILITY")
    app.config.pop("COKNOW_BOT_CLARIFY_MARGIN")
