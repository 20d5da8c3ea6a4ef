"""Writing: categories, threads, replies, edits, deletions, accepted answers and likes."""
from __future__ import annotations

from typing import Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from community.webhooks import emit_event, payloads
from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.forum.links import reply_path, thread_path
from community.forum.live import announce_reply
from community.markup import plain_text
from community.models import (
    ForumCategory,
    PostKind,
    PostRevision,
    Reply,
    ReplyLike,
    Thread,
    User,
    utcnow,
)
from community.tags import normalize_tags
from community.mentions import handle_of, mention_handles, mentioned_users
from community.forum.services.listing import mark_read
from community.forum.services.rules import check_body, check_can_post, check_title, slugify, tag_rows
from community.forum.services.search import sync_index
from community.forum.services.visibility import can_see_category, can_see_thread


def save_category(
    category: ForumCategory | None, *, name: str, description: str = "", staff_only: bool = False,
    position: int = 0, slug: str | None = None,
) -> ForumCategory:
    """Create (category None) or update a category; the slug stays stable once made."""
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise ValidationFailed(_("Give the category a name of at most 120 characters."), {"name": [_("Required.")]})
    if len(description or "") > 2000:
        raise ValidationFailed(_("The description is too long."), {"description": [_("Too long.")]})
    if category is None:
        slug = slugify(slug or name)
        if db.session.scalar(select(ForumCategory.id).where(ForumCategory.slug == slug)) is not None:
            raise Conflict(_("A category with this name already exists."), {"name": [_("Already used.")]})
        category = ForumCategory(slug=slug)
        db.session.add(category)
    category.name = name
    category.description = (description or "").strip()
    category.staff_only = bool(staff_only)
    category.position = position
    db.session.flush()
    for thread in db.session.scalars(select(Thread).where(Thread.category_id == category.id)):
        sync_index(thread)
    return category


def ensure_category(name: str, description: str = "") -> ForumCategory:
    """The category with name's slug, created when missing (imports and seed)."""
    slug = slugify(name)
    category = db.session.scalar(select(ForumCategory).where(ForumCategory.slug == slug))
    if category is None:
        category = save_category(None, name=name[:120], description=description, slug=slug)
    return category


def create_thread(
    author: User, category: ForumCategory, title: str, body: str, tags: str | Sequence[str] = ()
) -> Thread:
    """Start a thread: validates, applies posting limits, indexes it and notifies mentioned people."""
    if not can_see_category(author, category):
        raise NotFound(_("There is no such category."))
    title = check_title(title)
    body = check_body(body)
    names = normalize_tags(tags)
    check_can_post(author, body)
    now = utcnow()
    thread = Thread(category=category, author=author, title=title, body=body, tags=tag_rows(names),
                    created_at=now, last_activity_at=now)
    db.session.add(thread)
    db.session.flush()
    mark_read(author, thread)
    sync_index(thread)
    _notify_mentions(author, thread, None, body)
    emit_event("thread.created", payloads.thread(thread))
    return thread


def post_reply(author: User, thread: Thread, body: str) -> Reply:
    """Answer a thread: refuses locked or deleted threads, notifies the thread author and mentioned people."""
    if not can_see_thread(author, thread) or thread.is_deleted:
        raise NotFound(_("There is no such thread."))
    if thread.locked and not author.is_staff:
        raise Forbidden(_("This thread is locked: it no longer takes replies."))
    body = check_body(body)
    check_can_post(author, body)
    reply = Reply(thread=thread, author=author, body=body, created_at=utcnow())
    db.session.add(reply)
    db.session.flush()
    thread.last_activity_at = reply.created_at
    recount_replies(thread)
    mark_read(author, thread)  # one's own reply is not news
    mentioned = _notify_mentions(author, thread, reply, body)
    if thread.author_id and thread.author_id != author.id and thread.author_id not in mentioned:
        from community.notifications.services import notify

        notify([thread.author_id], "forum.reply",
               _l("%(name)s replied to “%(title)s”", name=author.display_name, title=thread.title),
               link=reply_link(reply), body=plain_text(body)[:280], actor=author)
    announce_reply(reply)
    return reply


def _notify_mentions(author: User, thread: Thread, reply: Reply | None, body: str, old_body: str = "") -> set[int]:
    """Notify people newly mentioned in body who can see the thread; returns their ids."""
    from community.notifications.services import notify

    already = set(mention_handles(old_body))
    users = [u for u in mentioned_users(body)
             if handle_of(u.display_name).lower() not in already and u.id != author.id and can_see_thread(u, thread)]
    if not users:
        return set()
    link = reply_link(reply) if reply is not None else thread_link(thread)
    notify(users, "forum.mention",
           _l("%(name)s mentioned you in “%(title)s”", name=author.display_name, title=thread.title),
           link=link, body=plain_text(body)[:280], actor=author)
    return {u.id for u in users}


def thread_link(thread: Thread) -> str:
    return thread_path(thread.id)


def reply_link(reply: Reply) -> str:
    return reply_path(reply.thread_id, reply.id)


def _check_author_or_staff(actor: User, author_id: int | None, message: str) -> None:
    if not (actor.is_staff or (author_id is not None and author_id == actor.id)):
        raise Forbidden(message)


def edit_thread(editor: User, thread: Thread, title: str, body: str, tags: str | Sequence[str] | None = None) -> Thread:
    """Change a thread's title, body (and tags), keeping the previous text as a revision."""
    _check_author_or_staff(editor, thread.author_id, _("Only the author or staff can edit this thread."))
    if thread.is_deleted:
        raise NotFound(_("There is no such thread."))
    title = check_title(title)
    body = check_body(body)
    names = normalize_tags(tags) if tags is not None else None
    check_can_post(editor, body, new_post=False)
    if title == thread.title and body == thread.body and (names is None or names == [t.name for t in thread.tags]):
        return thread
    old_body = thread.body
    if title != thread.title or body != thread.body:
        db.session.add(PostRevision(post_kind=PostKind.thread, post_id=thread.id, editor=editor,
                                    old_title=thread.title, old_body=thread.body))
        thread.edited_at = utcnow()
    thread.title, thread.body = title, body
    if names is not None:
        thread.tags = tag_rows(names)
    db.session.flush()
    sync_index(thread)
    _notify_mentions(editor, thread, None, body, old_body)
    return thread


def edit_reply(editor: User, reply: Reply, body: str) -> Reply:
    """Change a reply's body, keeping the previous text as a revision."""
    _check_author_or_staff(editor, reply.author_id, _("Only the author or staff can edit this reply."))
    if reply.is_deleted:
        raise NotFound(_("There is no such reply."))
    body = check_body(body)
    check_can_post(editor, body, new_post=False)
    if body == reply.body:
        return reply
    old_body = reply.body
    db.session.add(PostRevision(post_kind=PostKind.reply, post_id=reply.id, editor=editor, old_body=reply.body))
    reply.body = body
    reply.edited_at = utcnow()
    db.session.flush()
    if reply.thread.accepted_reply_id == reply.id:
        sync_index(reply.thread)
    _notify_mentions(editor, reply.thread, reply, body, old_body)
    return reply


def delete_thread(actor: User, thread: Thread) -> None:
    """Soft-delete: the row stays (for staff and history), lists and the index forget it."""
    _check_author_or_staff(actor, thread.author_id, _("Only the author or staff can delete this thread."))
    if thread.is_deleted:
        return
    thread.deleted_at = utcnow()
    db.session.flush()
    sync_index(thread)


def delete_reply(actor: User, reply: Reply) -> None:
    """Soft-delete a reply; an accepted answer stops being accepted."""
    _check_author_or_staff(actor, reply.author_id, _("Only the author or staff can delete this reply."))
    if reply.is_deleted:
        return
    reply.deleted_at = utcnow()
    thread = reply.thread
    if thread.accepted_reply_id == reply.id:
        thread.accepted_reply = None
    db.session.flush()
    recount_replies(thread)
    sync_index(thread)


def recount_replies(thread: Thread) -> None:
    """Set reply_count from the rows in one statement, so concurrent replies never lose a count."""
    visible = (
        select(func.count()).select_from(Reply)
        .where(Reply.thread_id == thread.id, Reply.deleted_at.is_(None), Reply.hidden.is_(False))
        .scalar_subquery()
    )
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(reply_count=visible))
    db.session.expire(thread, ["reply_count"])


def accept_answer(actor: User, thread: Thread, reply: Reply) -> None:
    """Mark reply as the thread's accepted answer (author or staff); accepting another moves the mark."""
    _check_author_or_staff(actor, thread.author_id, _("Only the person who asked or staff can accept an answer."))
    if reply.thread_id != thread.id:
        raise NotFound(_("There is no such reply in this thread."))
    if reply.is_deleted or reply.hidden or thread.is_deleted:
        raise Conflict(_("A deleted or hidden reply cannot be the accepted answer."))
    if thread.accepted_reply_id == reply.id:
        return
    thread.accepted_reply = reply
    db.session.flush()
    sync_index(thread)
    emit_event("answer.accepted", {"thread": payloads.thread(thread), "reply": payloads.reply(reply),
                                   "accepted_by_id": actor.id})
    if reply.author_id and reply.author_id != actor.id:
        from community.notifications.services import notify

        notify([reply.author_id], "forum.accepted",
               _l("Your reply to “%(title)s” was accepted as the answer", title=thread.title),
               link=reply_link(reply), actor=actor)


def unaccept_answer(actor: User, thread: Thread) -> None:
    """Clear the accepted answer (author or staff)."""
    _check_author_or_staff(actor, thread.author_id, _("Only the person who asked or staff can change the answer."))
    if thread.accepted_reply_id is None:
        return
    thread.accepted_reply = None
    db.session.flush()
    sync_index(thread)


def toggle_like(user: User, reply: Reply) -> bool:
    """Like a reply, or take the like back; returns whether it is now liked."""
    if reply.author_id == user.id:
        raise Forbidden(_("You cannot like your own reply."))
    if reply.is_deleted or reply.hidden:
        raise Conflict(_("This reply cannot be liked."))
    like = db.session.get(ReplyLike, (user.id, reply.id))
    if like is not None:
        db.session.delete(like)
        liked = False
    else:
        try:
            with db.session.begin_nested():
                db.session.add(ReplyLike(user_id=user.id, reply_id=reply.id))
        except IntegrityError:  # a double click raced us; the like exists
            pass
        liked = True
    db.session.flush()
    count = select(func.count()).select_from(ReplyLike).where(ReplyLike.reply_id == reply.id).scalar_subquery()
    db.session.execute(update(Reply).where(Reply.id == reply.id).values(like_count=count))
    db.session.expire(reply, ["like_count"])
    return liked
