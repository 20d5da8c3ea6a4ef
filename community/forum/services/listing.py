"""Thread lists and thread pages: sorting, paging, what is unread, views."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from community.errors import ValidationFailed
from community.extensions import db
from community.models import (
    ForumCategory,
    PostKind,
    PostRevision,
    Reply,
    ReplyLike,
    Tag,
    Thread,
    ThreadRead,
    User,
    utcnow,
)
from community.models.base import as_utc
from community.pagination import Page, SortKey, keyset_page, page_holding
from community.forum.services.rules import PER_PAGE, SORTS, limit, user_id_of
from community.forum.services.visibility import _visible_threads


@dataclass
class ThreadPage(Page[Thread]):
    """A page of threads, with the order it is in and which of them the viewer has not read."""

    sort: str = "latest"
    unread: set[int] = field(default_factory=set)


def list_threads(
    viewer: Any,
    *,
    category: ForumCategory | None = None,
    tag: str | None = None,
    sort: str = "latest",
    page: int = 1,
    per_page: int = PER_PAGE,
    after: str | None = None,
    before: str | None = None,
    count: bool = True,
) -> ThreadPage:
    """One page of the threads the viewer may see, sorted; unread ids for signed-in viewers.

    Pages by cursor (after / before a row, see community.pagination) or, for old links, by page number;
    count=False skips counting every matching thread (pages that only link to their neighbours)."""
    if sort not in SORTS:
        raise ValidationFailed(_("Unknown sort order."), {"sort": [_("Use one of: %(s)s.", s=", ".join(SORTS))]})
    page = max(page, 1)
    per_page = min(max(per_page, 1), 100)
    stmt = _visible_threads(viewer)
    if category is not None:
        stmt = stmt.where(Thread.category_id == category.id)
    if tag:
        stmt = stmt.where(Thread.tags.any(Tag.name == tag.lower()))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0 if count else None
    keys: list[SortKey]
    if sort == "latest":
        keys = [(Thread.pinned, True), (Thread.last_activity_at, True), (Thread.id, True)]
    elif sort == "new":
        keys = [(Thread.created_at, True), (Thread.id, True)]
    else:
        keys = [(Thread.reply_count, True), (Thread.views, True), (Thread.id, True)]
    # Authors and categories joined in, tags in one more query for the whole page: no query per row.
    stmt = stmt.order_by(None).options(selectinload(Thread.tags), joinedload(Thread.author), joinedload(Thread.category))
    found = keyset_page(stmt, keys, sort, per_page=per_page, page=page, after=after, before=before, total=total)
    return ThreadPage(found.items, total, found.page, per_page, found.next_cursor, found.prev_cursor, sort=sort,
                      unread=unread_ids(viewer, found.items))


def unread_ids(viewer: Any, threads: Sequence[Thread]) -> set[int]:
    """Ids among threads with activity since the viewer last opened them."""
    uid = user_id_of(viewer)
    if uid is None or not threads:
        return set()
    reads: dict[int, datetime] = dict(
        db.session.execute(  # type: ignore[arg-type]  # Row pairs
            select(ThreadRead.thread_id, ThreadRead.last_read_at).where(
                ThreadRead.user_id == uid, ThreadRead.thread_id.in_([t.id for t in threads])
            )
        ).all()
    )
    return {
        t.id for t in threads
        if t.id not in reads or as_utc(reads[t.id]) < as_utc(t.last_activity_at)
    }


def mark_read(user: User, thread: Thread) -> None:
    """Remember that user has seen thread as it is now."""
    # Read up to the latest activity, so a reply written the same instant never looks unread.
    now = max(utcnow(), as_utc(thread.last_activity_at))
    read = db.session.get(ThreadRead, (user.id, thread.id))
    if read is None:
        try:
            with db.session.begin_nested():
                db.session.add(ThreadRead(user_id=user.id, thread_id=thread.id, last_read_at=now))
        except IntegrityError:  # another tab of the same user got there first
            pass
        return
    read.last_read_at = now
    db.session.flush()


def count_view(thread: Thread) -> None:
    """Add one view atomically (concurrent page loads must not lose counts)."""
    # A page view is not a change worth syncing: updated_at stays as it was.
    db.session.execute(update(Thread).where(Thread.id == thread.id)
                       .values(views=Thread.views + 1, updated_at=Thread.updated_at))
    db.session.expire(thread, ["views"])


def visible_replies(viewer: Any, thread: Thread) -> list[Reply]:
    """Replies in order; deleted ones stay as stubs so the conversation reads right."""
    return list(db.session.scalars(select(Reply).where(Reply.thread_id == thread.id)
                                   .options(selectinload(Reply.author)).order_by(*REPLY_ORDER)))


REPLY_ORDER = (Reply.created_at, Reply.id)  # oldest first; ix_forum_replies_thread_order reads it as a range
_REPLY_KEYS: list[SortKey] = [(Reply.created_at, False), (Reply.id, False)]


def reply_page(viewer: Any, thread: Thread, *, after: str | None = None, before: str | None = None,
               last: bool = False, reply_id: int | None = None, per_page: int | None = None) -> Page[Reply]:
    """One page of the thread's replies, oldest first (deleted ones as stubs, as in visible_replies).

    By cursor (after / before a reply, see community.pagination), the last page (last), or the page holding
    reply_id, counted from the first reply so that it is the page Next reaches (links to one reply: mentions,
    notifications, search); a reply_id not in this thread shows the first page. A page never counts the thread.
    """
    per_page = per_page or limit("FORUM_REPLIES_PER_PAGE")
    stmt = select(Reply).where(Reply.thread_id == thread.id).options(selectinload(Reply.author))
    if reply_id is not None:
        target = db.session.execute(select(*REPLY_ORDER).where(Reply.id == reply_id, Reply.thread_id == thread.id)).first()
        after, before, last = None, None, False
        if target is not None:
            after = page_holding(stmt, _REPLY_KEYS, "replies", list(target), per_page=per_page)
    return keyset_page(stmt, _REPLY_KEYS, "replies", per_page=per_page, after=after, before=before, last=last)


def accepted_reply(thread: Thread) -> Reply | None:
    """The thread's accepted answer with its author: shown above every page of replies."""
    if thread.accepted_reply_id is None:
        return None
    return db.session.get(Reply, thread.accepted_reply_id, options=[joinedload(Reply.author)])


def revisions(kind: PostKind, post_id: int) -> list[PostRevision]:
    """A post's earlier versions, newest first."""
    return list(db.session.scalars(
        select(PostRevision).where(PostRevision.post_kind == kind, PostRevision.post_id == post_id)
        .order_by(PostRevision.created_at.desc(), PostRevision.id.desc())
    ))


def liked_ids(user: Any, replies: Sequence[Reply]) -> set[int]:
    """Which of replies the user liked."""
    uid = user_id_of(user)
    if uid is None or not replies:
        return set()
    return set(db.session.scalars(select(ReplyLike.reply_id).where(
        ReplyLike.user_id == uid, ReplyLike.reply_id.in_([r.id for r in replies]))))
