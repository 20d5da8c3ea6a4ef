"""Side effects (Socket.IO events, e-mail) that must run only once data is committed."""
from __future__ import annotations

import logging
import time
from typing import Callable

from flask import Flask, current_app, g, request, session
from flask.ctx import RequestContext
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.exceptions import NotFound

log = logging.getLogger(__name__)
# Where Socket.IO's middleware takes requests (Flask-SocketIO's path): Flask itself never serves them.
SOCKETIO_PATH = "socket.io"
_KEY = "coknow_after_commit"
_READY = "coknow_committed"


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run callback once the current transaction has committed and its connection is back in the pool.

    Dropped on rollback. Callbacks read with fresh_session() (or the committing session, which then
    starts a new transaction); neither needs a second pooled connection while the first is held.
    """
    if session is None:
        from community.extensions import db

        session = db.session()
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # A savepoint's release fires after_commit too: only the outermost commit makes data visible.
    if session.in_nested_transaction():
        return
    # SQLAlchemy calls after_commit while the session still holds its connection. A callback that
    # checked out a second one (every notification push does) could wait forever once every request
    # thread held one connection and wanted another: the pool ran dry and requests failed after 30 s.
    # So the callbacks wait for after_transaction_end, which comes after the connection is returned.
    session.info.setdefault(_READY, []).extend(session.info.pop(_KEY, []))


@event.listens_for(Session, "after_transaction_end")
def _run_callbacks(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    callbacks = session.info.pop(_READY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed notification must not undo a committed change
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a rolled-back savepoint leaves the outer transaction's callbacks pending
    session.info.pop(_KEY, None)


def fresh_session() -> Session:
    """A short-lived session on the app's engine, for reads inside after-commit callbacks."""
    from community.extensions import db

    return Session(db.engine)


class _RequestContext(RequestContext):
    """A request context that knows a Socket.IO event is no request for one of Flask's routes.

    Flask-SocketIO runs each event in a request context built from the socket's handshake (/socket.io/),
    and matching that path against the URL map raised NotFound every time: the exception's traceback held
    the frames that held the context, a reference cycle of ~100 objects per event that only the garbage
    collector could free. At 150 questions/s that garbage drove a full collection every 10-15 s, and each
    stopped the gevent worker's event loop for 60-100 ms: every socket's questions waited, and some were
    refused "busy" after 150 ms (issue 21, session 10). The request looks as before (no rule,
    routing_exception NotFound), without raising."""

    def match_request(self) -> None:
        if f"{self.request.path}/".startswith(f"/{SOCKETIO_PATH}/"):  # /socket.io/ (a test client's /socket.io)
            self.request.routing_exception = NotFound()
            return
        super().match_request()


class CommunityFlask(Flask):
    """The app's Flask: request contexts that match Socket.IO events without raising (_RequestContext)."""

    def request_context(self, environ: dict) -> RequestContext:  # type: ignore[type-arg]  # Flask's own signature
        return _RequestContext(self, environ)


def socket_sid() -> str:
    """The Socket.IO session id that Flask-SocketIO sets on the request inside an event handler."""
    sid: str = request.sid  # type: ignore[attr-defined]
    return sid


def join_room_while_connected(room: str) -> bool:
    """Join room from an event handler; False when the client disconnected while its event waited.

    Events run in their own threads: a page that navigates away right after emitting leaves a handler
    whose sid the server has already forgotten, and python-socketio then raises KeyError.
    """
    from flask_socketio import join_room

    try:
        join_room(room)
    except KeyError:
        return False
    return True


def reaches_others(room: str, namespace: str, skip_sid: str | None = None) -> bool:
    """Whether an emit to room (that skips skip_sid) can reach anyone. Without a message queue the room's
    members are all in this process and are read; with one, other processes may hold members: always True.

    python-socketio encodes an emit's packet (JSON, a walk for binary data) before it looks for recipients:
    for a question's announce and typing packets that nobody else receives, 4 % of the server's time (issue 21).
    """
    from socketio import PubSubManager

    from community.extensions import socketio

    manager = socketio.server.manager
    if isinstance(manager, PubSubManager):
        return True
    return any(member != skip_sid for member, _ in manager.get_participants(namespace, room))


_CSRF = "coknow.socket_csrf"


def keep_csrf_token() -> None:
    """Sign the socket's CSRF token once, not once per event.

    A socket's events render forms (chat messages) that carry the page's CSRF token; Flask-WTF signs it once per
    request, which for a socket is every event: the key derivation and HMAC were ~1 ms per chat answer (session 9,
    issue 21). The signed token is kept with the socket and handed to Flask-WTF's per-request cache (`g`) while
    the session's raw token is unchanged and for half its time limit; any signature of that raw token
    validates, so the forms work as before."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    kept = request.environ.get(_CSRF)
    now = time.monotonic()
    if kept is not None and kept[0] == session.get(field) and (not limit or now - kept[2] < limit / 2):
        setattr(g, field, kept[1])
        return
    token = generate_csrf()
    request.environ[_CSRF] = (session.get(field), token, now)
