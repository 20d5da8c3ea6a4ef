"""Who from support is online: one row per open staff console connection.

Kept in the database, not in process memory, so every worker process sees the same answer.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model
from community.models.base import UTCDateTime, utcnow


class StaffPresence(Model):
    __tablename__ = "staff_presence"
    __table_args__ = (Index("ix_staff_presence_last_seen", "last_seen_at"),)

    # The Socket.IO session id of the console connection.
    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Refreshed by the console's heartbeat; a row not seen for a while is a crashed worker's leftover.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")
