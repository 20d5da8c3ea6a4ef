"""Account rules: registration, authentication, password and profile changes."""
from __future__ import annotations

import functools
import secrets
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from community import limits
from community.auth.sessions import end_other_sessions
from community.errors import Conflict, RateLimited, ValidationFailed
from community.extensions import db
from community.models import Role, User, find_user_by_email
from community.models.user import scrypt_method

MIN_PASSWORD = 8
MAX_PASSWORD = 128
MAX_NAME = 80


class EmailTaken(Conflict):
    code = "email_taken"


def normalize_email(email: str) -> str:
    """Validate e-mail syntax and return its canonical lower-case form."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(_("Enter a valid e-mail address."), {"email": [str(exc)]}) from None
    return checked.normalized.lower()


def check_password_rules(password: str, field: str = "password") -> None:
    """Refuse passwords that are too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            _("Use at least %(n)d characters for the password.", n=MIN_PASSWORD),
            {field: [_("Too short.")]},
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(_("Use at most %(n)d characters.", n=MAX_PASSWORD), {field: [_("Too long.")]})


def _name_key(name: str) -> str:
    # Case, spacing and look-alike width variants do not make a different name.
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def check_display_name(name: str, user: User | None = None, role: Role = Role.customer) -> str:
    """Return the trimmed display name or raise; a customer cannot take a staff member's name."""
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(_("Enter a display name."), {"display_name": [_("Required.")]})
    if len(name) > MAX_NAME:
        raise ValidationFailed(_("The display name is too long."), {"display_name": [_("Too long.")]})
    if role is Role.customer:
        key = _name_key(name)
        staff_names = db.session.scalars(
            select(User.display_name).where(User.role.in_([Role.staff, Role.admin]),
                                            User.id != (user.id if user is not None else -1)))
        if any(_name_key(staff) == key for staff in staff_names):
            raise ValidationFailed(_("This name belongs to a member of our staff. Please choose another."),
                                   {"display_name": [_("Reserved for staff.")]})
    return name


def register_user(email: str, display_name: str, password: str, role: Role = Role.customer) -> User:
    """Create an account; raises EmailTaken or ValidationFailed and writes nothing then."""
    email = normalize_email(email)
    display_name = check_display_name(display_name, role=role)
    check_password_rules(password)
    if find_user_by_email(email) is not None:
        raise EmailTaken(_("An account with this e-mail already exists."), {"email": [_("Already registered.")]})
    user = User(email=email, display_name=display_name, role=role)
    user.set_password(password, current_app.config["COKNOW_PASSWORD_COST"])
    try:
        # A savepoint so a concurrent registration of the same address fails cleanly.
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise EmailTaken(_("An account with this e-mail already exists."), {"email": [_("Already registered.")]}) from None
    return user


@functools.cache
def _dummy_hash(cost: int) -> str:
    """A real hash of a random password at the site's cost: unknown accounts are checked against it, so
    a wrong e-mail address takes as long as a wrong password (no account-existence oracle)."""
    return generate_password_hash(secrets.token_hex(16), method=scrypt_method(cost))
LOGIN_FAILURES = "5 per 15 minutes"  # the 6th failure within 15 minutes is refused


def _login_keys(email: str, address: str) -> tuple[tuple[str, str], ...]:
    return (("login-account", email.strip().lower()), ("login-address", address))


def authenticate(email: str, password: str, address: str = "unknown") -> User | None:
    """Return the active account matching the credentials, else None; RateLimited after 5 failures.

    Failures count per account and per address for 15 minutes; while either is used up, even the right
    password is refused, so guessing cannot go on from many addresses or against many accounts.
    """
    waits = [w for w in (limits.retry_after(LOGIN_FAILURES, scope, key) for scope, key in _login_keys(email, address)) if w]
    if waits:
        minutes = max(1, (max(waits) + 59) // 60)
        raise RateLimited(_("Too many failed log-ins. Please try again in %(m)d minutes.", m=minutes),
                          {"email": [_("Too many attempts.")]}, retry_after=max(waits))
    user = find_user_by_email(email)
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(current_app.config["COKNOW_PASSWORD_COST"]), password)
        ok = False
    else:
        ok = user.check_password(password) and user.active
    if not ok:
        for scope, key in _login_keys(email, address):
            limits.record(LOGIN_FAILURES, scope, key)
        return None
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; every other login session of user ends."""
    if not user.check_password(current):
        raise ValidationFailed(_("The current password is not correct."), {"current_password": [_("Incorrect.")]})
    check_password_rules(new, "new_password")
    user.set_password(new, current_app.config["COKNOW_PASSWORD_COST"])
    db.session.flush()
    end_other_sessions(user)


def update_profile(user: User, display_name: str, locale: str | None) -> None:
    """Change the display name and preferred language."""
    user.display_name = check_display_name(display_name, user, user.role)
    user.locale = locale or None
    db.session.flush()


def ensure_user(email: str, display_name: str, password: str, role: Role) -> tuple[User, bool]:
    """Return the account for email, creating it with role if missing (seed and CLI)."""
    existing = find_user_by_email(email)
    if existing is not None:
        return existing, False
    return register_user(email, display_name, password, role), True
