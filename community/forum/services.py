"""Forum rules: who may see, write, edit, delete, accept, like, flag and moderate what.

Services validate, change rows and flush; the caller commits. Index updates go
into the same transaction; notifications and live events run after commit.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from community.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from community.database import page_offset
from community.extensions import db
from community.forum.live import announce_reply
from community.markup import plain_text
from community.models import (
    Article,
    ArticleStatus,
    Flag,
    FlagStatus,
    ForumCategory,
    KnowledgeGap,
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
from community.mentions import handle_of, mention_handles, mentioned_users

MAX_TITLE = 200
MIN_TITLE = 8
MAX_BODY = 30_000
MAX_TAGS = 5
MAX_TAG = 30
MAX_REASON = 500
PER_PAGE = 20
SORTS = ("latest", "new", "top")

# Discourse-like handles without a new column: "@" and the display name without
# spaces, any case ("Rosa Díaz" is @RosaDíaz).
LINK_RE = re.compile(r"https?://", re.IGNORECASE)
TAG_RE = re.compile(r"[^a-z0-9\u00c0-\u024f\u4e00-\u9fff+#.]+")
SLUG_RE = re.compile(r"[^a-z0-9]+")

# Defaults for the limits; each can be overridden in the app config under the same name.
LIMITS = {
    "FORUM_NEW_ACCOUNT_HOURS": 24,  # a member counts as new for this long...
    "FORUM_NEW_ACCOUNT_POSTS": 3,  # ...and until they have written this many posts
    "FORUM_NEW_MAX_LINKS": 2,
    "FORUM_NEW_MAX_MENTIONS": 2,
    "FORUM_NEW_POSTS_PER_HOUR": 3,
    "FORUM_POSTS_PER_HOUR": 30,
    "FORUM_FLAGS_TO_HIDE": 3,
}


def limit(name: str) -> int:
    """A forum limit from the app config, else its default."""
    return int(current_app.config.get(name, LIMITS[name]))




def slugify(text: str, max_len: int = 80) -> str:
    """ASCII slug for URLs; falls back to 'category' when nothing is left."""
    return SLUG_RE.sub("-", text.lower()).strip("-")[:max_len].strip("-") or "category"


# ------------------------------------------------------------------ visibility

def is_staff(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def user_id_of(user: Any) -> int | None:
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


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


@dataclass
class ThreadPage:
    threads: list[Thread]
    page: int
    pages: int
    total: int
    sort: str
    unread: set[int]

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def list_threads(
    viewer: Any,
    *,
    category: ForumCategory | None = None,
    tag: str | None = None,
    sort: str = "latest",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ThreadPage:
    """One page of the threads the viewer may see, sorted; unread ids for signed-in viewers."""
    if sort not in SORTS:
        raise ValidationFailed(_("Unknown sort order."), {"sort": [_("Use one of: %(s)s.", s=", ".join(SORTS))]})
    page = max(page, 1)
    per_page = min(max(per_page, 1), 100)
    stmt = _visible_threads(viewer)
    if category is not None:
        stmt = stmt.where(Thread.category_id == category.id)
    if tag:
        stmt = stmt.where(Thread.tags.any(Tag.name == tag.lower()))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    order: tuple[Any, ...]
    if sort == "latest":
        order = (Thread.pinned.desc(), Thread.last_activity_at.desc(), Thread.id.desc())
    elif sort == "new":
        order = (Thread.created_at.desc(), Thread.id.desc())
    else:
        order = (Thread.reply_count.desc(), Thread.views.desc(), Thread.id.desc())
    threads = list(db.session.scalars(stmt.order_by(*order).limit(per_page).offset(page_offset(page, per_page))))
    return ThreadPage(threads, page, max(1, -(-total // per_page)), total, sort, unread_ids(viewer, threads))


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
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(views=Thread.views + 1))
    db.session.expire(thread, ["views"])


def visible_replies(viewer: Any, thread: Thread) -> list[Reply]:
    """Replies in order; deleted ones stay as stubs so the conversation reads right."""
    return list(db.session.scalars(select(Reply).where(Reply.thread_id == thread.id).order_by(Reply.created_at, Reply.id)))


# ------------------------------------------------------------------ validation and limits

def check_title(title: str) -> str:
    """Trimmed title or ValidationFailed."""
    title = " ".join((title or "").split())
    if len(title) < MIN_TITLE:
        raise ValidationFailed(_("Write a title of at least %(n)d characters.", n=MIN_TITLE),
                               {"title": [_("Too short.")]})
    if len(title) > MAX_TITLE:
        raise ValidationFailed(_("The title is too long (at most %(n)d characters).", n=MAX_TITLE),
                               {"title": [_("Too long.")]})
    return title


def check_body(body: str, field: str = "body") -> str:
    """Body text or ValidationFailed."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write something first."), {field: [_("Required.")]})
    if len(body) > MAX_BODY:
        raise ValidationFailed(_("The text is too long (at most %(n)d characters).", n=MAX_BODY),
                               {field: [_("Too long.")]})
    return body


def normalize_tags(raw: str | Sequence[str]) -> list[str]:
    """Lower-case tag names, deduplicated; raises on too many or too long."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    names: list[str] = []
    for item in items:
        name = TAG_RE.sub("-", str(item).strip().lower()).strip("-")
        if not name:
            continue
        if len(name) > MAX_TAG:
            raise ValidationFailed(_("Tags can be at most %(n)d characters long.", n=MAX_TAG), {"tags": [_("Too long.")]})
        if name not in names:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationFailed(_("Use at most %(n)d tags.", n=MAX_TAGS), {"tags": [_("Too many.")]})
    return names


def _tags(names: Sequence[str]) -> list[Tag]:
    found = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))} if names else {}
    tags: list[Tag] = []
    for name in names:
        tag = found.get(name)
        if tag is None:
            try:
                with db.session.begin_nested():
                    tag = Tag(name=name)
                    db.session.add(tag)
            except IntegrityError:  # created concurrently
                tag = db.session.scalars(select(Tag).where(Tag.name == name)).one()
        tags.append(tag)
    return tags




def post_count(user: User, since: datetime | None = None) -> int:
    """Threads plus replies user wrote (deleted ones count: they were posted)."""
    t = select(func.count()).select_from(Thread).where(Thread.author_id == user.id)
    r = select(func.count()).select_from(Reply).where(Reply.author_id == user.id)
    if since is not None:
        t = t.where(Thread.created_at >= since)
        r = r.where(Reply.created_at >= since)
    return (db.session.scalar(t) or 0) + (db.session.scalar(r) or 0)


def is_new_member(user: User) -> bool:
    """New until the account is old enough and has taken part a few times."""
    if user.is_staff:
        return False
    young = as_utc(user.created_at) > utcnow() - timedelta(hours=limit("FORUM_NEW_ACCOUNT_HOURS"))
    return young or post_count(user) < limit("FORUM_NEW_ACCOUNT_POSTS")


def check_can_post(user: User, body: str, *, new_post: bool = True) -> None:
    """Enforce links/mentions per post for new members and posts per hour for everyone but staff."""
    if user.is_staff:
        return
    new = is_new_member(user)
    if new:
        links = len(LINK_RE.findall(body or ""))
        if links > limit("FORUM_NEW_MAX_LINKS"):
            raise ValidationFailed(
                _("New members can include at most %(n)d links in a post. Remove some and try again.",
                  n=limit("FORUM_NEW_MAX_LINKS")), {"body": [_("Too many links.")]})
        mentions = len(mention_handles(body))
        if mentions > limit("FORUM_NEW_MAX_MENTIONS"):
            raise ValidationFailed(
                _("New members can mention at most %(n)d people in a post.", n=limit("FORUM_NEW_MAX_MENTIONS")),
                {"body": [_("Too many mentions.")]})
    if not new_post:
        return
    per_hour = limit("FORUM_NEW_POSTS_PER_HOUR") if new else limit("FORUM_POSTS_PER_HOUR")
    window_start = utcnow() - timedelta(hours=1)
    if post_count(user, since=window_start) >= per_hour:
        oldest = min(
            (as_utc(x) for x in (
                db.session.scalar(select(func.min(Thread.created_at)).where(
                    Thread.author_id == user.id, Thread.created_at >= window_start)),
                db.session.scalar(select(func.min(Reply.created_at)).where(
                    Reply.author_id == user.id, Reply.created_at >= window_start)),
            ) if x is not None),
            default=utcnow(),
        )
        minutes = max(1, int((oldest + timedelta(hours=1) - utcnow()).total_seconds() // 60) + 1)
        if new:
            message = _("New members can post %(n)d times an hour. Please try again in %(m)d minutes.",
                        n=per_hour, m=minutes)
        else:
            message = _("You can post %(n)d times an hour. Please try again in %(m)d minutes.", n=per_hour, m=minutes)
        raise RateLimited(message, retry_after=minutes * 60)


# ------------------------------------------------------------------ categories

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


# ------------------------------------------------------------------ writing

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
    thread = Thread(category=category, author=author, title=title, body=body, tags=_tags(names),
                    created_at=now, last_activity_at=now)
    db.session.add(thread)
    db.session.flush()
    mark_read(author, thread)
    sync_index(thread)
    _notify_mentions(author, thread, None, body)
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
               _("%(name)s replied to “%(title)s”", name=author.display_name, title=thread.title),
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
           _("%(name)s mentioned you in “%(title)s”", name=author.display_name, title=thread.title),
           link=link, body=plain_text(body)[:280], actor=author)
    return {u.id for u in users}


def thread_link(thread: Thread) -> str:
    return f"/forum/t/{thread.id}"


def reply_link(reply: Reply) -> str:
    return f"/forum/t/{reply.thread_id}#reply-{reply.id}"


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
        thread.tags = _tags(names)
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


def revisions(kind: PostKind, post_id: int) -> list[PostRevision]:
    """A post's earlier versions, newest first."""
    return list(db.session.scalars(
        select(PostRevision).where(PostRevision.post_kind == kind, PostRevision.post_id == post_id)
        .order_by(PostRevision.created_at.desc(), PostRevision.id.desc())
    ))


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


# ------------------------------------------------------------------ answers and likes

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
    if reply.author_id and reply.author_id != actor.id:
        from community.notifications.services import notify

        notify([reply.author_id], "forum.accepted",
               _("Your reply to “%(title)s” was accepted as the answer", title=thread.title),
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


def liked_ids(user: Any, replies: Sequence[Reply]) -> set[int]:
    """Which of replies the user liked."""
    uid = user_id_of(user)
    if uid is None or not replies:
        return set()
    return set(db.session.scalars(select(ReplyLike.reply_id).where(
        ReplyLike.user_id == uid, ReplyLike.reply_id.in_([r.id for r in replies]))))


# ------------------------------------------------------------------ moderation

def _post(kind: PostKind, post_id: int) -> Thread | Reply | None:
    if kind is PostKind.thread:
        return db.session.get(Thread, post_id)
    return db.session.get(Reply, post_id)


def _thread_of(post: Thread | Reply) -> Thread:
    return post if isinstance(post, Thread) else post.thread


def flag_post(reporter: User, kind: PostKind, post_id: int, reason: str) -> Flag:
    """Report a post to staff with a reason; enough distinct reports hide it until staff decide."""
    post = _post(kind, post_id)
    if post is None or not can_see_thread(reporter, _thread_of(post)):
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
    return [(f, _post(f.post_kind, f.post_id)) for f in flags]


def resolve_flag(staff: User, flag: Flag, action: str) -> None:
    """Staff decide on a flagged post: 'hide' it, or 'dismiss' every open flag on it (and show it again)."""
    if not staff.is_staff:
        raise Forbidden(_("Only staff can handle flags."))
    if action not in ("hide", "dismiss"):
        raise ValidationFailed(_("Choose hide or dismiss."), {"action": [_("Unknown action.")]})
    post = _post(flag.post_kind, flag.post_id)
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
    thread = _thread_of(post)
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


# ------------------------------------------------------------------ index and related content

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
        question = question if len(question) <= 400 else question[:400].rsplit(" ", 1)[0] + "…"
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


# ------------------------------------------------------------------ help-center links

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
