"""API tokens: personal and service bearer tokens with scopes, and how a request is authenticated by one.

A token is `ckn_` and 43 random characters; only its SHA-256 is stored (the token has 256 bits of
entropy, so a fast hash is enough: nobody can guess their way back). A request that sends
`Authorization: Bearer <token>` to /api/ is authenticated by the token alone (a session cookie sent with
it is ignored), is exempt from CSRF (no browser sends it by itself), and may use only the areas its
scopes name; the account's own access rules still apply on top.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, g, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from community.errors import Forbidden, NotFound, ValidationFailed, error_body
from community.extensions import db
from community.models import ApiToken, Role, TokenKind, User
from community.models.base import as_utc, utcnow
from community.realtime import fresh_session

TOKEN_PREFIX = "ckn_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for, not a secret)
MAX_NAME = 80
EXPIRY_DAYS = (30, 90, 365)  # offered in the forms; None means never
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per token
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Area:
    key: str
    label: object
    staff_only_write: bool = False  # customers may hold the read scope only
    staff_only: bool = False  # customers may hold neither scope


# The parts of the API a token can be given; beta, customers and insights add theirs with register_area.
AREAS: dict[str, Area] = {
    "ideas": Area("ideas", _l("Ideas, votes and comments")),
    "forum": Area("forum", _l("Forum threads and replies")),
    "kb": Area("kb", _l("Help center articles and categories"), staff_only_write=True),
    "gaps": Area("gaps", _l("Knowledge gaps"), staff_only=True),
    "notifications": Area("notifications", _l("Your notifications")),
    "users": Area("users", _l("Users and profiles")),
}
# API blueprint name -> area; None: any valid token may call it (health, the token's own account).
BLUEPRINT_AREAS: dict[str, str | None] = {
    "api_system": None,
    "api_ideas": "ideas",
    "api_forum": "forum",
    "api_kb": "kb",
    "api_gaps": "gaps",
    "api_notifications": "notifications",
    "api_users": "users",
}


def register_area(key: str, label: object, blueprints: list[str], *, staff_only: bool = False,
                  staff_only_write: bool = False) -> None:
    """Let a feature's API blueprints be reached by tokens holding `key:read` / `key:write`."""
    AREAS[key] = Area(key, label, staff_only_write=staff_only_write, staff_only=staff_only)
    for name in blueprints:
        BLUEPRINT_AREAS[name] = key


def all_scopes() -> list[str]:
    """Every scope name, area by area."""
    return [f"{key}:{level}" for key in AREAS for level in ("read", "write")]


def scopes_for(user: User) -> list[str]:
    """The scopes user may put on a token (a token never reaches more than its account can)."""
    out = []
    for area in AREAS.values():
        if area.staff_only and not user.is_staff:
            continue
        out.append(f"{area.key}:read")
        if user.is_staff or not area.staff_only_write:
            out.append(f"{area.key}:write")
    return out


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class IssuedToken:
    """A new token and the only moment its secret is known."""

    def __init__(self, row: ApiToken, secret: str) -> None:
        self.row = row
        self.secret = secret


def _check(owner: User, name: str | None, scopes: list[str], expires_in_days: int | None) -> tuple[str, list[str]]:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed(_("Name the token after what will use it."), {"name": [_("Required.")]})
    if len(name) > MAX_NAME:
        raise ValidationFailed(_("The name is too long."), {"name": [_("At most %(n)d characters.", n=MAX_NAME)]})
    allowed = scopes_for(owner)
    unknown = sorted(set(scopes) - set(allowed))
    if unknown:
        raise ValidationFailed(_("Not a scope you can grant: %(s)s.", s=", ".join(unknown)),
                               {"scopes": [_("Choose from: %(s)s.", s=", ".join(allowed))]})
    if not scopes:
        raise ValidationFailed(_("Choose at least one scope."), {"scopes": [_("Required.")]})
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationFailed(_("A token lasts between 1 and 3650 days."), {"expires_in_days": [_("Out of range.")]})
    return name, [s for s in allowed if s in scopes]


def issue_token(owner: User, name: str | None, scopes: list[str], expires_in_days: int | None,
                kind: TokenKind = TokenKind.personal) -> IssuedToken:
    """Create a token acting as owner; the secret is returned once and only its hash is kept. Flushes."""
    if kind is TokenKind.service and not owner.is_admin:
        raise Forbidden(_("Only administrators create service tokens."))
    name, scopes = _check(owner, name, scopes, expires_in_days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name, kind=kind, user_id=owner.id, token_hash=hash_token(secret), prefix=secret[:10], scopes=scopes,
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(row)
    db.session.flush()
    return IssuedToken(row, secret)


def tokens_of(user: User) -> list[ApiToken]:
    """A person's own personal tokens, newest first."""
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.kind == TokenKind.personal).order_by(ApiToken.id.desc())))


def service_tokens() -> list[ApiToken]:
    """Every service token, newest first (admins manage them together)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.kind == TokenKind.service)
                                   .order_by(ApiToken.id.desc())))


def get_manageable_token(token_id: int, actor: User) -> ApiToken:
    """A token actor may revoke (their own, or any service token for an admin); others are 404."""
    row = db.session.get(ApiToken, token_id)
    if row is None or not (row.user_id == actor.id and row.kind is TokenKind.personal
                           or row.kind is TokenKind.service and actor.is_admin):
        raise NotFound(_("No such token."))
    return row


def revoke_token(row: ApiToken, actor: User) -> bool:
    """Revoke at once; a second revoke changes nothing. Flushes."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    row.revoked_by_id = actor.id
    db.session.flush()
    return True


# ---------------------------------------------------------------- authenticating a request

class TokenRefused(Exception):
    """The bearer token cannot be used; code and message go into the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def authenticate(secret: str) -> tuple[ApiToken, User]:
    """The token and the account it acts as, or TokenRefused naming why (unknown, revoked, expired...)."""
    # A short session of its own: the request's transaction stays untouched, and last_used_at is
    # bookkeeping committed apart from whatever the request goes on to write (or roll back).
    with fresh_session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret.strip())))
        if row is None:
            raise TokenRefused("invalid_token", _("This API token is not known. Check it was copied whole."))
        if row.revoked_at is not None:
            raise TokenRefused("token_revoked", _("This API token was revoked on %(d)s.",
                                                  d=as_utc(row.revoked_at).strftime("%Y-%m-%d %H:%M UTC")))
        if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
            raise TokenRefused("token_expired", _("This API token expired on %(d)s.",
                                                  d=as_utc(row.expires_at).strftime("%Y-%m-%d %H:%M UTC")))
        now = utcnow()
        if row.last_used_at is None or now - as_utc(row.last_used_at) >= LAST_USED_RESOLUTION:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
            session.commit()
        token_id, user_id = row.id, row.user_id
    user = db.session.get(User, user_id)
    token = db.session.get(ApiToken, token_id)
    assert token is not None
    if user is None or not user.active:
        raise TokenRefused("token_owner_inactive", _("The account this API token acts as is deactivated."))
    if token.kind is TokenKind.service and user.role is not Role.admin:
        raise TokenRefused("token_owner_not_admin",
                           _("The administrator who created this service token is no longer an administrator."))
    return token, user


def required_scope(blueprint: str | None, method: str) -> str | None:
    """The scope a request needs, None when any token may make it; KeyError when tokens may not."""
    if blueprint is None:
        return None  # no route matched: the 404 or 405 follows
    area = BLUEPRINT_AREAS[blueprint]
    if area is None:
        return None
    return f"{area}:{'read' if method in SAFE_METHODS else 'write'}"


def has_scope(token: ApiToken, scope: str) -> bool:
    """True when the token holds scope; write includes read in the same area."""
    held = set(token.scopes or [])
    area, _sep, level = scope.partition(":")
    return scope in held or (level == "read" and f"{area}:write" in held)


def current_token() -> ApiToken | None:
    """The token that authenticated this request, if one did."""
    return g.get("api_token")


def is_token_request() -> bool:
    """True when a bearer token authenticated the request (CSRF rules for cookies do not apply)."""
    return g.get("api_token") is not None


def _refuse(status: int, code: str, message: str):
    response = jsonify(error_body(status, message, code=code))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{code}"'
    return response


def _authenticate_request():
    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or not header:
        return None
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _refuse(401, "invalid_token", _("Send the token as 'Authorization: Bearer <token>'."))
    try:
        token, user = authenticate(secret)
    except TokenRefused as refused:
        return _refuse(401, refused.code, refused.message)
    # Flask-Login reads the current user from g; setting it here keeps the session cookie out of it.
    g._login_user = user
    g.api_token = token
    try:
        scope = required_scope(request.blueprint, request.method)
    except KeyError:
        return _refuse(403, "scope_not_available", _("API tokens cannot use this part of the API."))
    if scope is not None and not has_scope(token, scope):
        return _refuse(403, "insufficient_scope", _("This token lacks the %(scope)s scope.", scope=scope))
    return None


def init_app(app: Flask) -> None:
    """Authenticate bearer tokens before any API view runs (and before the CSRF check)."""
    # First in line: scopes must be settled before any other before_request looks at the user.
    app.before_request_funcs.setdefault(None, []).insert(0, _authenticate_request)

