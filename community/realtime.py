"""Side effects (Socket.IO events, e-mail) that must run only once data is committed."""
from __future__ import annotations

import logging
from typing import Callable

from flask import request
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_KEY = "coknow_after_commit"


def after_commit(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run callback after the current transaction commits; drop it on rollback.

    The committing session cannot run SQL inside the callback: read with fresh_session().
    """
    if session is None:
        from community.extensions import db

        session = db.session()
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed notification must not undo a committed change
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_callbacks(session: Session) -> None:
    session.info.pop(_KEY, None)


def fresh_session() -> Session:
    """A short-lived session on the app's engine, for reads inside after-commit callbacks."""
    from community.extensions import db

    return Session(db.engine)


def socket_sid() -> str:
    """The Socket.IO session id that Flask-SocketIO sets on the request inside an event handler."""
    sid: str = request.sid  # type: ignore[attr-defined]
    return sid
