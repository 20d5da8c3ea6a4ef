"""The forum in the search index: its documents, their visibility, related and similar threads, help-center links."""
from __future__ import annotations

from typing import Any, Sequence

from flask import current_app
from sqlalchemy import select

from community.extensions import db
from community.markup import plain_text, shorten
from community.models import (
    Article,
    ArticleStatus,
    KnowledgeGap,
    Thread,
)
from community.forum.services.rules import is_staff
from community.forum.services.visibility import _visible_threads


def _visibility(thread: Thread) -> str:
    return "staff" if thread.category.staff_only else "public"


def is_promoted(thread: Thread) -> bool:
    """Whether the thread's answer lives on as a published help article (which the bot cites instead)."""
    return db.session.scalar(select(Article.id).where(
        Article.origin_thread_id == thread.id, Article.status == ArticleStatus.published)) is not None


def index_documents(thread: Thread) -> list[tuple[str, str, str, dict[str, Any]]]:
    """What the index should hold for thread: (source type, title, body, meta) of the question and accepted
    answer (the answer only until it is published as a help article, which the bot then cites instead)."""
    if thread.is_deleted or thread.hidden:
        return []
    meta = {"visibility": _visibility(thread), "category": thread.category.slug, "thread_id": thread.id}
    docs = [("thread", thread.title, thread.body, meta)]
    answer = thread.accepted_reply
    if answer is not None and not answer.is_deleted and not answer.hidden and not is_promoted(thread):
        # The question's opening is enough context for the answer; the full question is its own document.
        question = plain_text(thread.body)
        question = shorten(question, 401)
        body = f"{question}\n\n## Accepted answer\n\n{answer.body}"
        docs.append(("answer", thread.title, body, {**meta, "reply_id": answer.id}))
    return docs


def sync_index(thread: Thread) -> None:
    """Make the index match the thread: question and accepted answer indexed only while visible."""
    from community import search

    docs = {kind: (title, body, meta) for kind, title, body, meta in index_documents(thread)}
    for kind in ("thread", "answer"):
        if kind in docs:
            title, body, meta = docs[kind]
            search.index_document(kind, thread.id, title=title, body=body, meta=meta)
        else:
            search.remove_document(kind, thread.id)


def search_filters(viewer: Any, category: str | None = None) -> dict[str, Any]:
    """Index filters a viewer's search must carry."""
    filters: dict[str, Any] = {}
    if not is_staff(viewer):
        filters["visibility"] = "public"
    if category:
        filters["category"] = category
    return filters


def related_content(viewer: Any, thread: Thread, k: int = 5) -> list[Any]:
    """Threads and ideas that mean something close to this thread."""
    from community import search

    try:
        # From the vectors stored for the thread: viewing a page never runs the model.
        return search.related_documents("thread", thread.id, source_types=("thread", "idea"), k=k, min_score=0.35,
                                        filters=search_filters(viewer))
    except Exception:  # related links are a nicety; the thread page must render without the index
        current_app.logger.warning("related threads unavailable", exc_info=True)
        return []


def similar_threads(viewer: Any, text: str, k: int = 5) -> list[Any]:
    """Existing threads and answers close to a draft title (the 'already asked?' box)."""
    from community import search

    if len(text.strip()) < 5:
        return []
    matches = search.similar(text, source_types=("thread", "answer"), k=k * 2, filters=search_filters(viewer),
                             min_score=0.45)
    seen: set[str] = set()
    out = []
    for m in matches:
        if m.source_id not in seen:
            seen.add(m.source_id)
            out.append(m)
    return out[:k]


def hits_with_threads(viewer: Any, hits: Sequence[Any]) -> list[Any]:
    """Drop hits on threads the viewer may not see any more (the index lags by a commit)."""
    ids = {int(h.source_id) for h in hits if h.source_type in ("thread", "answer") and str(h.source_id).isdigit()}
    visible = set()
    if ids:
        visible = set(db.session.scalars(_visible_threads(viewer).where(Thread.id.in_(ids)).with_only_columns(Thread.id)))
    return [h for h in hits if h.source_type not in ("thread", "answer") or int(h.source_id) in visible]


def promoted_article(thread: Thread) -> Article | None:
    """The help article proposed from this thread, if any."""
    return db.session.scalar(select(Article).where(Article.origin_thread_id == thread.id))


def can_propose(user: Any, thread: Thread) -> bool:
    """Staff and the thread's author may propose its accepted answer for the help center."""
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and (user.is_staff or (thread.author_id is not None and thread.author_id == user.id)))


def linked_gaps(thread: Thread) -> list[KnowledgeGap]:
    """The knowledge gaps asked in this thread, oldest first."""
    return list(db.session.scalars(
        select(KnowledgeGap).where(KnowledgeGap.thread_id == thread.id).order_by(KnowledgeGap.id)))
