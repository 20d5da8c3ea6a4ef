"""Login sessions the server can end: logout, a password change, and their open sockets."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update

from community.extensions import db, socketio
from community.models import LoginSession, User, utcnow
from community.realtime import after_commit


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_room(session_id: int) -> str:
    """The Socket.IO room every socket opened by one login session joins (to be closed with it)."""
    return f"login:{session_id}"


def start_session(user: User, remember: bool = False) -> LoginSession:
    """Open a new login session for user and make user carry its token (call before login_user)."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(user_id=user.id, token_hash=_hash(token), remember=remember)
    db.session.add(row)
    db.session.flush()
    user.login_token = token
    return row


def load_user(cookie_id: str) -> User | None:
    """The account behind a session or remember cookie, if its login session is still open."""
    user_id, _sep, token = cookie_id.partition(":")
    if not user_id.isdigit() or not token:
        return None  # a cookie from before login sessions existed, or a forged one
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id).where(
            User.id == int(user_id), LoginSession.token_hash == _hash(token), LoginSession.revoked_at.is_(None))
    )
    if user is not None:
        user.login_token = token
    return user


def current_session_id(user: User) -> int | None:
    """The id of the login session user was loaded for."""
    if not user.login_token:
        return None
    return db.session.scalar(select(LoginSession.id).where(LoginSession.token_hash == _hash(user.login_token)))


def end_session(user: User) -> None:
    """End the login session user was loaded for (logout); its sockets close after commit."""
    if not user.login_token:
        return
    ended = list(db.session.scalars(
        update(LoginSession).where(LoginSession.token_hash == _hash(user.login_token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow()).returning(LoginSession.id)))
    after_commit(lambda: disconnect_sockets(ended))


def end_other_sessions(user: User) -> int:
    """End every other open login session of user (a password change); returns how many ended."""
    keep = _hash(user.login_token) if user.login_token else ""
    ended = list(db.session.scalars(
        update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None),
                                   LoginSession.token_hash != keep)
        .values(revoked_at=utcnow()).returning(LoginSession.id)))
    after_commit(lambda: disconnect_sockets(ended))
    return len(ended)


def disconnect_sockets(session_ids: list[int]) -> None:
    """Close this process's sockets of the ended sessions.

    Sockets held by other processes stay open until their next event, which then runs signed out:
    every event loads the user again and finds the session ended.
    """
    server = socketio.server
    if server is None or not session_ids:
        return
    for namespace in list(server.namespace_handlers):
        for session_id in session_ids:
            sids = [sid for sid, _eio in server.manager.get_participants(namespace, session_room(session_id))]
            for sid in sids:
                server.disconnect(sid, namespace=namespace)


def join_session_room(user) -> None:
    """Put the connecting socket in its login session's room (call from a namespace's connect)."""
    from flask_socketio import join_room

    if getattr(user, "is_authenticated", False):
        session_id = current_session_id(user)
        if session_id is not None:
            join_room(session_room(session_id))
