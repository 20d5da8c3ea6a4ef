"""The forum category a new question most likely belongs in, by meaning ("Ask the community" from the bot)."""
from __future__ import annotations

import threading
from typing import Any

import numpy as np
from sqlalchemy import func, select

from community.extensions import db
from community.forum.services import visible_categories
from community.models import ForumCategory, Thread
from knowledge_index.embedder import get_embedder

# Below this cosine to every category's name and description the question fits none in particular:
# it goes to the general help category instead of the nearest unrelated one.
MIN_FIT = 0.2

_vectors: dict[str, np.ndarray] = {}
_lock = threading.Lock()


def _category_vector(category: ForumCategory) -> np.ndarray:
    text = f"{category.name}. {category.description}"
    with _lock:
        vector = _vectors.get(text)
    if vector is None:
        # Encoded once per process and wording; categories change rarely.
        vector = get_embedder().encode_query(text)
        with _lock:
            _vectors[text] = vector
    return vector


def _fit(q: np.ndarray, category: ForumCategory) -> float:
    """Closeness to what the category says it is for and, when it has threads, to what is asked there."""
    from community import search

    described = float(np.dot(q, _category_vector(category)))
    asked = search.get_cache().mean_vector({"source_type": ("thread",), "category": category.slug})
    return described if asked is None else (described + float(np.dot(q, asked))) / 2


def general_category(categories: list[ForumCategory]) -> ForumCategory:
    """Where questions get answered here: the category with the most solved threads, else the first."""
    if not categories:
        raise ValueError("no categories")
    counts: dict[int, int] = {row[0]: row[1] for row in db.session.execute(
        select(Thread.category_id, func.count()).where(Thread.accepted_reply_id.is_not(None),
                                                       Thread.category_id.in_([c.id for c in categories]))
        .group_by(Thread.category_id)
    )}
    return max(categories, key=lambda c: (counts.get(c.id, 0), -c.position))


def suggest_category(viewer: Any, question: str) -> ForumCategory | None:
    """The open category closest in meaning to question, or the general help one; never a staff-only one."""
    categories = [c for c in visible_categories(viewer) if not c.staff_only]
    if not categories:
        return None
    question = " ".join(question.split())[:500]
    if not question:
        return general_category(categories)
    q = get_embedder().encode_query(question)
    scores = [_fit(q, c) for c in categories]
    best = int(np.argmax(scores))
    return categories[best] if scores[best] >= MIN_FIT else general_category(categories)
