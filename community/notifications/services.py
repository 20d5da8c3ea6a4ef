"""Tell people what happened: in-app notifications pushed live, and e-mail, after commit."""
from __future__ import annotations

from typing import Iterable

from flask import current_app
from flask_babel import LazyString, force_locale
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from community.database import changed_rows
from community.extensions import db, socketio
from community.models import Notification, User, utcnow
from community.notifications.outbox import queue_emails
from community.notifications.preferences import channels_for
from community.realtime import after_commit, fresh_session

LIVE_NAMESPACE = "/live"


def user_room(user_id: int) -> str:
    """The Socket.IO room every connection of a signed-in user joins."""
    return f"user:{user_id}"


def notify(
    users: Iterable[User | int],
    kind: str,
    title: str | LazyString,
    link: str = "",
    body: str | LazyString = "",
    actor: User | None = None,
) -> list[Notification]:
    """Tell each distinct user (never the actor) in-app and/or by e-mail, as their preferences say.

    A title or body given lazily (`lazy_gettext`) is written in each recipient's own language.
    In-app notifications are pushed live and e-mails delivered only after the caller commits.
    Returns the in-app notifications created.
    """
    actor_id = actor.id if actor is not None else None
    recipients: list[int] = []
    seen: set[int] = {actor_id} if actor_id is not None else set()
    for user in users:
        user_id = user if isinstance(user, int) else user.id
        if user_id not in seen:
            seen.add(user_id)
            recipients.append(user_id)
    channels = channels_for(recipients, kind)
    created: list[Notification] = []
    in_app = [user_id for user_id in recipients if channels[user_id].in_app]
    locales = recipient_locales(in_app)
    for user_id in in_app:
        with force_locale(locales[user_id]):
            note = Notification(user_id=user_id, kind=kind, title=str(title)[:300], body=str(body), link=link,
                                actor_id=actor_id)
            db.session.add(note)
            created.append(note)
    db.session.flush()
    if created:
        pushed = sorted({note.user_id for note in created})
        after_commit(lambda: _push(pushed))
    by_email = [user_id for user_id in recipients if channels[user_id].email]
    if by_email:
        users_by_email = list(db.session.scalars(select(User).where(User.id.in_(by_email)).order_by(User.id)))
        queue_emails(users_by_email, kind, title, link, body)
    return created


def recipient_locales(user_ids: list[int]) -> dict[int, str]:
    """Each user's interface language: their account setting, else the site's default."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not user_ids:
        return {}
    rows = db.session.execute(select(User.id, User.locale).where(User.id.in_(user_ids)))
    chosen: dict[int, str | None] = dict(rows.tuples().all())
    return {user_id: chosen.get(user_id) or default for user_id in user_ids}


def _push(user_ids: list[int]) -> None:
    with fresh_session() as session:
        for user_id in user_ids:
            socketio.emit("notification", {"unread": unread_count(user_id, session)}, to=user_room(user_id),
                          namespace=LIVE_NAMESPACE)


def unread_count(user_id: int, session: Session | None = None) -> int:
    """How many notifications the user has not read."""
    return (session or db.session).scalar(
        select(func.count()).select_from(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    ) or 0


def recent(user_id: int, limit: int = 50) -> list[Notification]:
    """The user's latest notifications, newest first."""
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user_id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        )
    )


def mark_read(user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, every) notification of the user read; returns how many changed."""
    stmt = update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    changed = changed_rows(db.session.execute(stmt.values(read_at=utcnow())))
    after_commit(lambda: _push([user_id]))
    return changed
