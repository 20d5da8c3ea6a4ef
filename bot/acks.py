"""Socket.IO acknowledgements shared by the customer chat (/chat) and the staff console (/console).

Every event answers {ok: true, ...} after a commit, or {ok: false, error: {code, message, fields}}
after a rollback (and then nothing is stored), like the JSON API's error bodies.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from flask_babel import gettext as _

from community.errors import DomainError, ValidationFailed, error_body
from community.extensions import db
from community.realtime import keep_csrf_token

log = logging.getLogger(__name__)


def failure(error: DomainError) -> dict[str, Any]:
    """The acknowledgement of a refused event."""
    return {"ok": False, **error_body(error.status, error.message, error.fields, error.code)}


def require_fields(data: object, *required: str) -> dict[str, Any]:
    """The event's payload as a dict holding the required fields, or a clear error."""
    if not isinstance(data, dict):
        raise ValidationFailed(_("Send an object with the fields %(names)s.", names=", ".join(required)))
    missing = [name for name in required if name not in data]
    if missing:
        raise ValidationFailed(_("Some fields are missing."), {name: [_("Required.")] for name in missing})
    return data


def acknowledged(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Commit on success; on any error roll back and acknowledge the error instead."""
    @functools.wraps(handler)
    def run(self, data=None):
        keep_csrf_token()  # the messages an event renders carry it
        try:
            result = handler(self, data)
            db.session.commit()
            return {"ok": True, **result}
        except DomainError as error:
            db.session.rollback()
            return failure(error)
        except Exception:  # the client must get an answer, never a silent timeout
            db.session.rollback()
            log.exception("socket event %s failed", handler.__name__)
            return {"ok": False, **error_body(500, _("Something went wrong on our side. Please try again."))}

    return run
