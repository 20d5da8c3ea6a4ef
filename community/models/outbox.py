"""The e-mail outbox: every notification e-mail is stored before it is sent, and kept after."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.extensions import Model
from community.models.base import UTCDateTime, utcnow


class EmailStatus(str, enum.Enum):
    queued = "queued"
    # Claimed by one sender; a claim older than the stuck limit is taken over by the next run.
    sending = "sending"
    sent = "sent"
    # No SMTP host configured: written to the "coknow.mail" log instead.
    logged = "logged"
    failed = "failed"


class OutgoingEmail(Model):
    __tablename__ = "outgoing_emails"
    __table_args__ = (
        Index("ix_outgoing_emails_status_next", "status", "next_attempt_at"),
        Index("ix_outgoing_emails_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The address is copied: the message stays readable (and sendable) if the account changes or goes.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # The notification kind it was sent for; the unsubscribe link turns off that kind's group.
    kind: Mapped[str] = mapped_column(String(40))
    unsubscribe_url: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[EmailStatus] = mapped_column(
        Enum(EmailStatus, name="email_status", native_enum=False, length=16), default=EmailStatus.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User")

    def __repr__(self) -> str:
        return f"<OutgoingEmail {self.id} {self.kind} {self.status.value}>"
