"""Tell people what happened: in-app notifications, pushed live after commit."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from community.extensions import db, socketio
from community.models import Notification, User, utcnow
from community.realtime import after_commit, fresh_session

LIVE_NAMESPACE = "/live"


def user_room(user_id: int) -> str:
    """The Socket.IO room every connection of a signed-in user joins."""
    return f"user:{user_id}"


def notify(
    users: Iterable[User | int],
    kind: str,
    title: str,
    link: str = "",
    body: str = "",
    actor: User | None = None,
) -> list[Notification]:
    """Create one notification per distinct user (never for the actor), pushed live on commit."""
    actor_id = actor.id if actor is not None else None
    seen: set[int] = set()
    created: list[Notification] = []
    for user in users:
        user_id = user if isinstance(user, int) else user.id
        if user_id in seen or user_id == actor_id:
            continue
        seen.add(user_id)
        note = Notification(user_id=user_id, kind=kind, title=title[:300], body=body, link=link, actor_id=actor_id)
        db.session.add(note)
        created.append(note)
    db.session.flush()
    recipients = sorted(seen)
    after_commit(lambda: _push(recipients))
    return created


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
    changed = db.session.execute(stmt.values(read_at=utcnow())).rowcount
    after_commit(lambda: _push([user_id]))
    return changed
