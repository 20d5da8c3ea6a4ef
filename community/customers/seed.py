"""Demo customer profiles from people.json (company, plan, the CRM's tier) and their segments (idempotent).

Profiles are made before the demo ideas so the demo votes are cast with a segment and weight; the CRM
tier gives the first segment, and the real computation runs once the demo activity exists.
"""
from __future__ import annotations

from typing import Callable

from community.customers.services.segments import recompute_segments
from community.extensions import db
from community.models import CustomerProfile, Segment, find_user_by_email

# What the demo CRM says each tier is worth a year; self-serve customers are valued by their plan.
TIER_VALUES = {"enterprise": 48_000.0, "growth": 6_000.0}
TIER_SEGMENTS = {"enterprise": Segment.most_valuable, "growth": Segment.growth_potential}


def seed_profiles(people: dict, report) -> int:
    """Give each demo customer a profile once, with the segment their CRM tier suggests."""
    created = 0
    for person in people.get("customers", []):
        user = find_user_by_email(person["email"])
        if user is None or db.session.get(CustomerProfile, user.id) is not None:
            continue
        tier = person.get("segment") or ""
        db.session.add(CustomerProfile(
            user_id=user.id, company=person.get("company"), plan=person.get("plan"),
            annual_value=TIER_VALUES.get(tier), attributes={"crm_tier": tier} if tier else {}, interests=[],
            segment=TIER_SEGMENTS.get(tier, Segment.ordinary).value))
        created += 1
    db.session.flush()
    report.add("customer profiles", created)
    return created


def seed_segments(progress: Callable[[str], None] = lambda _m: None) -> None:
    """Compute every customer's segment and interests from the demo activity."""
    counts = recompute_segments()
    progress("Customers: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items()) + ".")
