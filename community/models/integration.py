"""Integrations: API tokens for scripts and other systems, webhook endpoints and their deliveries."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.database import UTCDateTime
from community.extensions import Model
from community.models.base import as_utc, utcnow


class TokenKind(str, enum.Enum):
    personal = "personal"  # a person's own token, acting as them
    service = "service"  # an admin's token for another system, listed and revocable by every admin


class ApiToken(Model):
    """A bearer token: only its SHA-256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[TokenKind] = mapped_column(Enum(TokenKind, name="token_kind", native_enum=False, length=16))
    # The account the token acts as: its owner, or for a service token the admin who created it.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, so people can tell tokens apart
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user = relationship("User", foreign_keys=[user_id])

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and as_utc(self.expires_at) <= utcnow()

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and not self.expired


class DeliveryState(str, enum.Enum):
    pending = "pending"  # waiting for its first try or a retry
    delivered = "delivered"
    failed = "failed"  # every try failed


class WebhookEndpoint(Model):
    """A receiver staff registered, the events it wants, and how its deliveries have gone lately."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Kept readable: each delivery is signed with it (an HMAC needs the key itself, not a hash).
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def wants(self, event: str) -> bool:
        return self.active and (event in self.events or "*" in self.events)


class WebhookDelivery(Model):
    """One event sent (or being sent) to one endpoint; the exact body is kept so a re-send is identical."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[str] = mapped_column(String(40), index=True)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, name="delivery_state", native_enum=False, length=16), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resend_of_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))

    endpoint = relationship("WebhookEndpoint")
    attempt_log = relationship("WebhookAttempt", order_by="WebhookAttempt.number", cascade="all, delete-orphan",
                               back_populates="delivery")


class WebhookAttempt(Model):
    """One try of a delivery: when, the receiver's status code (or the network error) and how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(500), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    delivery = relationship("WebhookDelivery", back_populates="attempt_log")
