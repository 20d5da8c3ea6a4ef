"""Accounts: customers, staff and admins."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from community.extensions import Model, db
from community.models.base import Timestamped, UTCDateTime


def scrypt_method(cost: int) -> str:
    """Werkzeug's method string for scrypt with N = 2**cost, r = 8, p = 1 (its defaults but N)."""
    return f"scrypt:{2 ** cost}:8:1"


class Role(str, enum.Enum):
    customer = "customer"
    staff = "staff"
    admin = "admin"


class User(UserMixin, Timestamped, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", native_enum=False, length=16), default=Role.customer
    )
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the person deleted their account: the row stays, anonymised, so their public posts keep an author.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The token of the login session this object was loaded for (community.auth.sessions); not stored.
    login_token = None  # type: str | None

    def get_id(self) -> str:
        """What the session and remember cookies carry: the account and the login session's token."""
        if not self.login_token:
            raise RuntimeError("start a login session (community.auth.sessions.start_session) before login_user")
        return f"{self.id}:{self.login_token}"

    def set_password(self, password: str, cost: int) -> None:
        """Store a scrypt hash of password with N = 2**cost; the parameters travel inside the hash, so
        a changed cost applies to new passwords and old hashes keep checking."""
        self.password_hash = generate_password_hash(password, method=scrypt_method(cost))

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.staff, Role.admin)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def initials(self) -> str:
        """Up to two letters for the avatar circle."""
        words = [w for w in self.display_name.replace("_", " ").split() if w]
        letters = "".join(w[0] for w in words[:2]) or self.email[:1]
        return letters.upper()

    @property
    def avatar_hue(self) -> int:
        """A stable colour per user so avatars stay recognisable."""
        return (self.id or 0) * 47 % 360

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"


# E-mail lookups ignore case (find_user_by_email, the CRM import): an index on the expression they use.
Index("ix_users_email_lower", func.lower(User.email))


def find_user_by_email(email: str) -> User | None:
    """Look an account up by e-mail, ignoring case."""
    return db.session.scalar(db.select(User).where(func.lower(User.email) == email.strip().lower()))
