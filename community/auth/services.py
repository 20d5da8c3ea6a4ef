"""Account rules: registration, authentication, password and profile changes."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from community.errors import Conflict, ValidationFailed
from community.extensions import db
from community.models import Role, User, find_user_by_email

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


def check_display_name(name: str) -> str:
    """Return the trimmed display name or raise."""
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(_("Enter a display name."), {"display_name": [_("Required.")]})
    if len(name) > MAX_NAME:
        raise ValidationFailed(_("The display name is too long."), {"display_name": [_("Too long.")]})
    return name


def register_user(email: str, display_name: str, password: str, role: Role = Role.customer) -> User:
    """Create an account; raises EmailTaken or ValidationFailed and writes nothing then."""
    email = normalize_email(email)
    display_name = check_display_name(display_name)
    check_password_rules(password)
    if find_user_by_email(email) is not None:
        raise EmailTaken(_("An account with this e-mail already exists."), {"email": [_("Already registered.")]})
    user = User(email=email, display_name=display_name, role=role)
    user.set_password(password)
    try:
        # A savepoint so a concurrent registration of the same address fails cleanly.
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError:
        raise EmailTaken(_("An account with this e-mail already exists."), {"email": [_("Already registered.")]}) from None
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active account matching the credentials, else None."""
    user = find_user_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one."""
    if not user.check_password(current):
        raise ValidationFailed(_("The current password is not correct."), {"current_password": [_("Incorrect.")]})
    check_password_rules(new, "new_password")
    user.set_password(new)
    db.session.flush()


def update_profile(user: User, display_name: str, locale: str | None) -> None:
    """Change the display name and preferred language."""
    user.display_name = check_display_name(display_name)
    user.locale = locale or None
    db.session.flush()


def ensure_user(email: str, display_name: str, password: str, role: Role) -> tuple[User, bool]:
    """Return the account for email, creating it with role if missing (seed and CLI)."""
    existing = find_user_by_email(email)
    if existing is not None:
        return existing, False
    return register_user(email, display_name, password, role), True
