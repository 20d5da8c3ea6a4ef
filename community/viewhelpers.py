"""Small helpers every feature's views and API resources share."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from flask import abort, flash, request
from werkzeug.routing import IntegerConverter, Map
from flask_babel import gettext as _
from flask_login import current_user

from community.database import MAX_ROW_ID
from community.errors import DomainError
from community.extensions import db

T = TypeVar("T")

#: The one status of a form post that fails validation or a domain rule: the form comes back with its
#: messages. (400 stays for requests that are malformed, such as a missing CSRF token.)
FORM_ERROR_STATUS = 422
# Domain errors that are not a mistake in what was typed: forbidden, gone, too many posts for now.
PAGE_ERRORS = (403, 404, 429)


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number beyond the database's integer range matches no route (404)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ROW_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def show_form_error(error: DomainError, form) -> None:
    """Put a service's field errors on the form and flash its message."""
    for name, messages in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + [str(m) for m in messages]
    flash(error.message, "error")


def page_arg() -> int:
    """The ?page= number, 1 when missing or malformed; capped (a page that far out is simply empty)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or len(raw) > 10:
        return 1 if not raw.isdigit() else MAX_ROW_ID
    return min(max(1, int(raw)), MAX_ROW_ID)


def int_arg(name: str) -> int | None:
    """A whole-number query argument within the database's range, None when missing or malformed."""
    raw = request.args.get(name, "")
    if not raw.isdigit() or len(raw) > 10 or int(raw) > MAX_ROW_ID:
        return None
    return int(raw)


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


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a view's service call came to: its value, or the domain error already shown to the user."""

    value: T | None = None
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def run_service(action: Callable[[], T], form: Any = None) -> Outcome[T]:
    """The HTML views' transaction boundary: run a service call and commit.

    A DomainError rolls everything back and is shown: on the form's fields plus a flash when a form is
    given, as a flash otherwise. 403, 404 and 429 are nothing to fix on the page: they go on to the
    error page with their status. Anything else rolls back and propagates.
    """
    try:
        return Outcome(value=commit_or_rollback(action))
    except DomainError as error:
        if error.status in PAGE_ERRORS:
            raise
        if form is not None:
            show_form_error(error, form)
        else:
            flash(error.message, "error")
        return Outcome(error=error)


def form_status() -> int:
    """200 for showing a form, FORM_ERROR_STATUS when it comes back after a failed post."""
    return FORM_ERROR_STATUS if request.method == "POST" else 200
