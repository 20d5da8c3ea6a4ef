"""Moderation: flags, hiding, locking, pinning and moving threads."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    Flag,
    FlagStatus,
    ForumCategory,
    PostKind,
    Reply,
    Thread,
    User,
    utcnow,
)
from community.forum.services.rules import MAX_REASON, limit
from community.forum.services.search import sync_index
from community.forum.services.visibility import can_see_thread
from community.forum.services.writing import recount_replies


def find_post(kind: PostKind, post_id: int) -> Thread | Reply | None:
    if kind is PostKind.thread:
        return db.session.get(Thread, post_id)
    return db.session.get(Reply, post_id)


def thread_of(post: Thread | Reply) -> Thread:
    return post if isinstance(post, Thread) else post.thread


def flag_post(reporter: User, kind: PostKind, post_id: int, reason: str) -> Flag:
    """Report a post to staff with a reason; enough distinct reports hide it until staff decide."""
    post = find_post(kind, post_id)
    if post is None or not can_see_thread(reporter, thread_of(post)):
        raise NotFound(_("There is no such post."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationFailed(_("Tell the moderators what is wrong with this post."), {"reason": [_("Required.")]})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(_("Keep the reason under %(n)d characters.", n=MAX_REASON), {"reason": [_("Too long.")]})
    if post.author_id == reporter.id:
        raise Conflict(_("You cannot flag your own post."))
    flag = db.session.scalar(select(Flag).where(
        Flag.post_kind == kind, Flag.post_id == post_id, Flag.reporter_id == reporter.id))
    if flag is None:
        flag = Flag(post_kind=kind, post_id=post_id, reporter_id=reporter.id, reason=reason)
        db.session.add(flag)
    else:
        flag.reason, flag.status, flag.handled_at, flag.handled_by_id = reason, FlagStatus.open, None, None
    db.session.flush()
    open_flags = db.session.scalar(select(func.count()).select_from(Flag).where(
        Flag.post_kind == kind, Flag.post_id == post_id, Flag.status == FlagStatus.open)) or 0
    if open_flags >= limit("FORUM_FLAGS_TO_HIDE") and not post.hidden:
        _set_hidden(post, True)
    return flag


def open_flags() -> list[tuple[Flag, Thread | Reply | None]]:
    """The staff queue: open flags, oldest first, with the post each is about."""
    flags = db.session.scalars(select(Flag).where(Flag.status == FlagStatus.open).order_by(Flag.created_at, Flag.id))
    return [(f, find_post(f.post_kind, f.post_id)) for f in flags]


def resolve_flag(staff: User, flag: Flag, action: str) -> None:
    """Staff decide on a flagged post: 'hide' it, or 'dismiss' every open flag on it (and show it again)."""
    if not staff.is_staff:
        raise Forbidden(_("Only staff can handle flags."))
    if action not in ("hide", "dismiss"):
        raise ValidationFailed(_("Choose hide or dismiss."), {"action": [_("Unknown action.")]})
    post = find_post(flag.post_kind, flag.post_id)
    status = FlagStatus.hidden if action == "hide" else FlagStatus.dismissed
    now = utcnow()
    for other in db.session.scalars(select(Flag).where(
            Flag.post_kind == flag.post_kind, Flag.post_id == flag.post_id, Flag.status == FlagStatus.open)):
        other.status, other.handled_by_id, other.handled_at = status, staff.id, now
    if post is not None:
        _set_hidden(post, action == "hide")
    db.session.flush()


def _set_hidden(post: Thread | Reply, hidden: bool) -> None:
    post.hidden = hidden
    thread = thread_of(post)
    if isinstance(post, Reply):
        db.session.flush()
        recount_replies(thread)
    db.session.flush()
    sync_index(thread)


def set_reply_hidden(staff: User, reply: Reply, hidden: bool) -> None:
    """Staff hide or show a reply."""
    if not staff.is_staff:
        raise Forbidden(_("Only staff can hide posts."))
    _set_hidden(reply, hidden)


THREAD_ACTIONS = ("lock", "unlock", "pin", "unpin", "hide", "unhide", "move")


def moderate_thread(staff: User, thread: Thread, action: str, category: ForumCategory | None = None) -> None:
    """Staff lock, pin, hide or move a thread."""
    if not staff.is_staff:
        raise Forbidden(_("Only staff can moderate threads."))
    if action not in THREAD_ACTIONS:
        raise ValidationFailed(_("Unknown moderation action."), {"action": [_("Unknown action.")]})
    if action in ("lock", "unlock"):
        thread.locked = action == "lock"
    elif action in ("pin", "unpin"):
        thread.pinned = action == "pin"
    elif action in ("hide", "unhide"):
        _set_hidden(thread, action == "hide")
    else:
        if category is None:
            raise ValidationFailed(_("Choose the category to move the thread to."), {"category": [_("Required.")]})
        thread.category = category
    db.session.flush()
    if action == "move":
        sync_index(thread)
