"""Small helpers every feature's views and API resources share."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from community.errors import DomainError
from community.extensions import db

T = TypeVar("T")


def show_form_error(error: DomainError, form) -> None:
    """Put a service's field errors on the form and flash its message."""
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + [str(m) for m in messages]
    flash(error.message, "error")


def page_arg() -> int:
    """The ?page= number, 1 when missing or malformed."""
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1


def signed_in_or_401():
    """The current user, or a 401 JSON error for API calls."""
    if not current_user.is_authenticated:
        abort(401, description=_("Sign in to do this."))
    return current_user


def commit_or_rollback(action: Callable[[], T]) -> T:
    """Run a service call and commit, or roll back and re-raise so nothing is half-written."""
    try:
        result = action()
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        raise
