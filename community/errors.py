"""Error rendering: JSON {"error": {...}} under /api/, friendly pages elsewhere."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from community.security import allow_header

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}


class DomainError(Exception):
    """A rule of the domain was broken; views turn it into a 4xx with this message."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, fields)
        self.retry_after = retry_after


def wants_json() -> bool:
    """API paths always answer JSON; so do clients that ask only for it."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_body(status: int, message: str, fields: dict[str, Any] | None = None, code: str | None = None) -> dict:
    """The one JSON error shape of the API."""
    return {"error": {"code": code or CODES.get(status, "error"), "message": message, "fields": fields or {}}}


def _fields_from(error: HTTPException) -> dict[str, Any]:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") or data.get("errors") or {}
    # webargs nests by location ("json", "query"); clients care about the field names.
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "path", "headers", "files"}:
        merged: dict[str, Any] = {}
        for part in messages.values():
            if isinstance(part, dict):
                merged.update(part)
        return merged
    return messages if isinstance(messages, dict) else {}


def _message_for(error: HTTPException) -> str:
    if isinstance(error, CSRFError):
        return _("The form was sent without a valid security token (it may have expired). Reload the page and try again.")
    if error.code == 422:
        return _("Some fields are not valid.")
    if error.code == 413:
        return _("The request is too large.")
    return error.description or error.name


def _forget_failed_transaction() -> None:
    """Roll the request's session back before rendering an error.

    After a database error PostgreSQL refuses every statement until rollback; the error page loads the
    current user (navigation, language), which then failed too and turned a JSON error into HTML 500.
    """
    from community.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection itself may be gone; the error page must still render
        log.warning("rollback before the error page failed", exc_info=True)


def register(app: Flask) -> None:
    """Install the error handlers on app."""

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def _out_of_range(error: Exception):
        # A number beyond the database's range that no parser caught: the client's mistake, not ours.
        _forget_failed_transaction()
        log.warning("value out of the database's range on %s: %s", request.path, error)
        message = _("A number in the request is out of range.")
        if wants_json():
            return jsonify(error_body(400, message)), 400
        return render_template("errors/error.html", status=400, message=message), 400

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        _forget_failed_transaction()
        if wants_json():
            response = jsonify(error_body(error.status, error.message, error.fields, error.code))
            response.status_code = error.status
        else:
            response = app.make_response(
                (render_template("errors/error.html", status=error.status, message=error.message), error.status))
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        _forget_failed_transaction()
        if status >= 500:
            # Unhandled exceptions arrive here wrapped; never show their internals.
            log.error("server error on %s", request.path, exc_info=getattr(error, "original_exception", None))
        message = _message_for(error) if status < 500 else _("Something went wrong on our side. Please try again.")
        allow = allow_header(error) if status == 405 else None
        if wants_json():
            if isinstance(error, CSRFError):
                body = error_body(status, message, {"X-CSRFToken": [_("Missing or not valid.")]}, "csrf_failed")
            else:
                body = error_body(status, message, _fields_from(error))
            response = jsonify(body)
            response.status_code = status
            # webargs passes headers=None on validation errors.
            for key, value in ((getattr(error, "data", None) or {}).get("headers") or {}).items():
                response.headers[key] = value
        else:
            response = app.make_response((render_template("errors/error.html", status=status, message=message), status))
        if allow:
            response.headers["Allow"] = allow
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response
