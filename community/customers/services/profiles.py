"""The customer list (search, filters, sorting) and one customer's profile, for staff."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select

from community.customers.services.segments import SEGMENT_ORDER, parse_segment
from community.errors import NotFound, ValidationFailed
from community.extensions import db
from community.models import CustomerProfile, Role, User

SORTS = ("value", "segment", "engagement", "support_load", "name", "newest")
ACTIVITY = ("active", "quiet")


@dataclass
class CustomerRow:
    user: User
    profile: CustomerProfile | None


@dataclass
class CustomerPage:
    rows: list[CustomerRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_customers(q: str | None = None, segment: str | None = None, plan: str | None = None,
                   company: str | None = None, activity: str | None = None, sort: str = "value",
                   page: int = 1, per_page: int = 50) -> CustomerPage:
    """One page of customers (not deleted), filtered and sorted; unknown filters are named in the error."""
    if sort not in SORTS:
        message = _("Unknown sort order.")
        raise ValidationFailed(message, {"sort": [message]})
    if activity and activity not in ACTIVITY:
        message = _("Activity is “active” or “quiet”.")
        raise ValidationFailed(message, {"activity": [message]})
    wanted = parse_segment(segment)
    page, per_page = max(1, page), min(max(1, per_page), 200)
    stmt = (select(User, CustomerProfile).outerjoin(CustomerProfile, CustomerProfile.user_id == User.id)
            .where(User.role == Role.customer, User.deleted_at.is_(None)))
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(User.email).like(like), func.lower(User.display_name).like(like),
                              func.lower(CustomerProfile.company).like(like)))
    if wanted is not None:
        stmt = stmt.where(CustomerProfile.segment == wanted.value)
    if plan:
        stmt = stmt.where(func.lower(CustomerProfile.plan) == plan.strip().lower())
    if company:
        stmt = stmt.where(func.lower(CustomerProfile.company) == company.strip().lower())
    if activity == "active":
        stmt = stmt.where(CustomerProfile.engagement > 0)
    elif activity == "quiet":
        stmt = stmt.where(or_(CustomerProfile.engagement.is_(None), CustomerProfile.engagement == 0))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rank = case({s.value: n for n, s in enumerate(SEGMENT_ORDER)}, value=CustomerProfile.segment, else_=len(SEGMENT_ORDER))
    order = {
        "value": (func.coalesce(CustomerProfile.value_score, 0).desc(), User.id),
        "segment": (rank, func.coalesce(CustomerProfile.value_score, 0).desc(), User.id),
        "engagement": (func.coalesce(CustomerProfile.engagement, 0).desc(), User.id),
        "support_load": (func.coalesce(CustomerProfile.support_load, 0).desc(), User.id),
        "name": (func.lower(User.display_name), User.id),
        "newest": (User.created_at.desc(), User.id.desc()),
    }[sort]
    rows = db.session.execute(stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    return CustomerPage([CustomerRow(u, p) for u, p in rows], total, page, per_page)


def plans() -> list[str]:
    """Plans in use, for the list's filter."""
    return [p for p in db.session.scalars(select(CustomerProfile.plan).where(CustomerProfile.plan.is_not(None))
                                          .distinct().order_by(CustomerProfile.plan)) if p]


def get_customer(user_id: int) -> tuple[User, CustomerProfile | None]:
    """A customer account and its profile; NotFound for staff, deleted or unknown ids."""
    user = db.session.get(User, user_id)
    if user is None or user.role is not Role.customer or user.is_deleted:
        raise NotFound(_("There is no such customer."))
    return user, db.session.get(CustomerProfile, user_id)
