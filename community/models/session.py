"""Login sessions: one row per sign-in, so a session can be ended on the server."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from community.extensions import Model
from community.models.base import UTCDateTime, utcnow


class LoginSession(Model):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored here.

    Logout and a password change set revoked_at, and the cookie (session or remember-me) stops working.
    """

    __tablename__ = "login_sessions"
    __table_args__ = (Index("ix_login_sessions_user_open", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
