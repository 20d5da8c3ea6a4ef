"""Knowledge *about* customers: CRM attributes, value segment, interests, segment rules, staff access log."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.database import UTCDateTime
from community.extensions import Model
from community.models.base import utcnow


class Segment(str, enum.Enum):
    most_valuable = "most_valuable"
    growth_potential = "growth_potential"
    at_risk = "at_risk"
    ordinary = "ordinary"


class CustomerProfile(Model):
    """One customer's company attributes (from the CRM or the seed) and what we computed about them."""

    __tablename__ = "customer_profiles"
    __table_args__ = (
        Index("ix_customer_profiles_segment", "segment"),
        Index("ix_customer_profiles_company", "company"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    company: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[str | None] = mapped_column(String(80))
    annual_value: Mapped[float | None] = mapped_column(Float)
    signup_date: Mapped[date | None] = mapped_column(Date)
    # Any CRM columns we do not model, kept as they came (strings).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Hash of the last imported CRM row: a re-import of the same row is recognised and changes nothing.
    crm_hash: Mapped[str | None] = mapped_column(String(64))
    crm_imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    segment: Mapped[str] = mapped_column(String(24), default=Segment.ordinary.value, server_default="ordinary")
    # The inputs of the last segment computation, shown beside the rule on the customer page.
    value_score: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    engagement: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    support_load: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user = relationship("User", foreign_keys=[user_id])


class SegmentRules(Model):
    """The thresholds and vote weights of the value segments (one row, edited by staff)."""

    __tablename__ = "customer_segment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Annual value at or above which a customer is most valuable (or at risk when disengaged).
    high_value: Mapped[float] = mapped_column(Float, default=10_000.0)
    # Activities in the last 90 days for "engaged" (growth potential) and "quiet" (at risk).
    engaged_activity: Mapped[int] = mapped_column(Integer, default=8)
    quiet_activity: Mapped[int] = mapped_column(Integer, default=1)
    # Handoffs and thumbs-down in the last 90 days from which a paying customer is at risk.
    high_support_load: Mapped[int] = mapped_column(Integer, default=3)
    weight_most_valuable: Mapped[float] = mapped_column(Float, default=3.0)
    weight_growth_potential: Mapped[float] = mapped_column(Float, default=1.5)
    weight_at_risk: Mapped[float] = mapped_column(Float, default=2.0)
    weight_ordinary: Mapped[float] = mapped_column(Float, default=1.0)
    # Yearly value of a plan when the CRM gives no annual value, e.g. {"team": 12000}.
    plan_values: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class CustomerView(Model):
    """A member of staff opened a customer's page (who, whom, when): the privacy log admins read."""

    __tablename__ = "customer_views"
    __table_args__ = (Index("ix_customer_views_viewed_at", "viewed_at"),
                      Index("ix_customer_views_customer", "customer_id", "viewed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What was opened: the page, the timeline through the API, the export.
    what: Mapped[str] = mapped_column(String(24), default="page")
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff = relationship("User", foreign_keys=[staff_id])
    customer = relationship("User", foreign_keys=[customer_id])
