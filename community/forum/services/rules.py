"""Forum rules every job shares: limits, who is staff, what a title, body and tags may be, and posting limits."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Any, Sequence

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from community.errors import RateLimited, ValidationFailed
from community.extensions import db
from community.models import (
    Reply,
    Tag,
    Thread,
    User,
    utcnow,
)
from community.models.base import as_utc
from community.mentions import mention_handles


MAX_TITLE = 200


MIN_TITLE = 8


MAX_BODY = 30_000


MAX_REASON = 500


PER_PAGE = 20


SORTS = ("latest", "new", "top")


# Discourse-like handles without a new column: "@" and the display name without
# spaces, any case ("Rosa Díaz" is @RosaDíaz).
LINK_RE = re.compile(r"https?://", re.IGNORECASE)


SLUG_RE = re.compile(r"[^a-z0-9]+")


def limit(name: str) -> int:
    """A forum limit (FORUM_* in community.config: defaults there, overridable by environment or app config)."""
    return int(current_app.config[name])


def slugify(text: str, max_len: int = 80) -> str:
    """A URL slug that keeps any script's letters ("使用技巧" stays itself); 'category' when nothing is left."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[^\w]+|_", "-", norm).strip("-")[:max_len].strip("-") or "category"


def is_staff(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def user_id_of(user: Any) -> int | None:
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


_WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


def display_width(text: str) -> int:
    """Length with each wide (Chinese, Japanese, Korean) character counted twice, as it reads.

    "同步很慢怎么办" is a whole question in 7 characters; the minimum title length is meant for words.
    """
    return len(text) + len(_WIDE.findall(text))


def check_title(title: str) -> str:
    """Trimmed title or ValidationFailed."""
    title = " ".join((title or "").split())
    if display_width(title) < MIN_TITLE:
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


def tag_rows(names: Sequence[str]) -> list[Tag]:
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
