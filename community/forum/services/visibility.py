"""Who may see which category, thread and reply; the look-ups answer 404 for what the viewer may not see."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from community.errors import NotFound
from community.extensions import db
from community.models import (
    ForumCategory,
    Reply,
    Thread,
)
from community.forum.services.rules import is_staff, user_id_of


def can_see_category(viewer: Any, category: ForumCategory) -> bool:
    """Staff-only categories exist only for staff."""
    return not category.staff_only or is_staff(viewer)


def can_see_thread(viewer: Any, thread: Thread) -> bool:
    """Deleted and hidden threads stay visible to staff (and hidden ones to their author)."""
    if not can_see_category(viewer, thread.category):
        return False
    if is_staff(viewer):
        return True
    if thread.is_deleted:
        return False
    return not thread.hidden or (thread.author_id is not None and thread.author_id == user_id_of(viewer))


def visible_categories(viewer: Any) -> list[ForumCategory]:
    """Categories the viewer may see, in display order."""
    stmt = select(ForumCategory).order_by(ForumCategory.position, ForumCategory.name)
    if not is_staff(viewer):
        stmt = stmt.where(ForumCategory.staff_only.is_(False))
    return list(db.session.scalars(stmt))


def get_category_or_404(slug: str, viewer: Any) -> ForumCategory:
    """The category, or NotFound when it does not exist for this viewer (never 403: no leak)."""
    category = db.session.scalar(select(ForumCategory).where(ForumCategory.slug == slug))
    if category is None or not can_see_category(viewer, category):
        raise NotFound(_("There is no such category."))
    return category


def get_thread_or_404(thread_id: int, viewer: Any) -> Thread:
    """The thread, or NotFound when it does not exist for this viewer."""
    thread = db.session.get(Thread, thread_id)
    if thread is None or not can_see_thread(viewer, thread):
        raise NotFound(_("There is no such thread."))
    return thread


def get_reply_or_404(reply_id: int, viewer: Any) -> Reply:
    """The reply (deleted ones included, they render as a stub), or NotFound."""
    reply = db.session.get(Reply, reply_id)
    if reply is None or not can_see_thread(viewer, reply.thread):
        raise NotFound(_("There is no such reply."))
    return reply


def _visible_threads(viewer: Any) -> Select[tuple[Thread]]:
    stmt = select(Thread).join(Thread.category).where(Thread.deleted_at.is_(None))
    if not is_staff(viewer):
        stmt = stmt.where(ForumCategory.staff_only.is_(False))
        uid = user_id_of(viewer)
        stmt = stmt.where(or_(Thread.hidden.is_(False), Thread.author_id == uid) if uid else Thread.hidden.is_(False))
    return stmt
