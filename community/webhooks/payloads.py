"""The `data` of each webhook event: small, stable dictionaries (ids, titles, states, links).

Receivers fetch anything more through the API with a token; a payload never carries private text
(bodies of staff-only threads, e-mail addresses).
"""
from __future__ import annotations

from typing import Any

from community.forum.links import reply_path
from community.models import Article, Conversation, Idea, KnowledgeGap, Reply, Thread


def _when(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def idea(item: Idea) -> dict[str, Any]:
    """An idea as events describe it."""
    return {"id": item.id, "title": item.title, "status": item.status.value, "category": item.category,
            "tags": list(item.tags or []), "author_id": item.author_id, "vote_count": item.vote_count,
            "merged_into_id": item.merged_into_id, "url": f"/ideas/{item.id}",
            "created_at": _when(item.created_at)}


def thread(item: Thread) -> dict[str, Any]:
    """A forum thread as events describe it."""
    return {"id": item.id, "title": item.title, "category": item.category.slug, "author_id": item.author_id,
            "tags": [t.name for t in item.tags], "staff_only": item.category.staff_only,
            "url": f"/forum/t/{item.id}", "created_at": _when(item.created_at)}


def reply(item: Reply) -> dict[str, Any]:
    """A forum reply as events describe it."""
    return {"id": item.id, "thread_id": item.thread_id, "author_id": item.author_id,
            "url": reply_path(item.thread_id, item.id), "created_at": _when(item.created_at)}


def article(item: Article) -> dict[str, Any]:
    """A help-center article as events describe it."""
    return {"id": item.id, "slug": item.slug, "title": item.title,
            "category": item.category.slug if item.category else None, "source": item.source.value,
            "url": f"/help/articles/{item.slug}", "published_at": _when(item.published_at)}


def conversation(item: Conversation) -> dict[str, Any]:
    """A chat conversation as events describe it (no transcript: staff read it in the console)."""
    return {"id": item.public_id, "status": item.status.value, "user_id": item.user_id,
            "handoff_requested_at": _when(item.handoff_requested_at)}


def gap(item: KnowledgeGap) -> dict[str, Any]:
    """A knowledge gap as events describe it."""
    return {"id": item.id, "title": item.title, "status": item.status.value, "ask_count": item.ask_count,
            "article_id": item.article_id, "thread_id": item.thread_id,
            "dismissed_reason": item.dismissed_reason or "", "first_asked_at": _when(item.first_asked_at),
            "resolved_at": _when(item.resolved_at)}
