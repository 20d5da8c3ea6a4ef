"""Sentiment of customer texts from VADER's lexicon (shipped inside its package; nothing downloaded).

VADER reads English; text with Chinese in it counts as neutral rather than being guessed at.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable

_CJK = re.compile(r"[\u3400-\u9fff]")
_lock = threading.Lock()
_analyzer = None
# VADER's own recommended cut-offs on its compound score.
POSITIVE = 0.05
NEGATIVE = -0.05
LABELS = ("positive", "neutral", "negative")


def _vader():
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def label(text: str) -> str:
    """positive, neutral or negative."""
    if not text.strip() or _CJK.search(text):
        return "neutral"
    score = _vader().polarity_scores(text[:2000])["compound"]
    return "positive" if score >= POSITIVE else "negative" if score <= NEGATIVE else "neutral"


def shares(texts: Iterable[str]) -> dict[str, float]:
    """The share of texts in each sentiment (0 to 1, summing to 1; all neutral when empty)."""
    labels = [label(t) for t in texts]
    if not labels:
        return {"positive": 0.0, "neutral": 1.0, "negative": 0.0}
    return {name: round(labels.count(name) / len(labels), 3) for name in LABELS}
