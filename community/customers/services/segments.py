"""Value segments: who is most valuable, has growth potential, is at risk, or is an ordinary customer.

A segment comes from three inputs measured over the last ENGAGEMENT_DAYS: value (the CRM's annual
value, else the plan's yearly value), engagement (ideas, votes, comments, threads, replies, chat
messages) and support load (conversations handed to a person, thumbs-down on the bot's answers).
The thresholds and each segment's vote weight are one editable row (SegmentRules). Recomputing
is a job; ranking code reads the stored segment, and votes keep the segment they were cast with.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from community.customers.services.bulk import insert_ignore, pairs
from community.errors import ValidationFailed
from community.extensions import db
from community.models import (
    AnswerFeedback, ChatMessage, Conversation, CustomerProfile, Idea, IdeaComment, Reply, Role, Segment,
    SegmentRules, Thread, User, Vote, utcnow,
)

ENGAGEMENT_DAYS = 90
# Yearly value of the usual plan names when staff have set none (editable on the rules page).
DEFAULT_PLAN_VALUES = {"free": 0.0, "plus": 1_200.0, "team": 12_000.0, "enterprise": 40_000.0}
SEGMENT_ORDER = (Segment.most_valuable, Segment.growth_potential, Segment.at_risk, Segment.ordinary)
_CHUNK = 900  # ids per IN (...): under SQLite's bound-parameter limit


def segment_label(segment: str | Segment | None) -> str:
    """The translated name of a segment."""
    key = Segment(segment) if segment else Segment.ordinary
    labels: dict[Segment, str] = {
        Segment.most_valuable: _("Most valuable"),
        Segment.growth_potential: _("Growth potential"),
        Segment.at_risk: _("At risk"),
        Segment.ordinary: _("Ordinary"),
    }
    return labels[key]


def parse_segment(value: str | None, field: str = "segment") -> Segment | None:
    """The segment named by value ("" or None for any), or ValidationFailed naming field."""
    if not value:
        return None
    try:
        return Segment(value)
    except ValueError:
        message = _("Unknown segment.")
        raise ValidationFailed(message, {field: [message]}) from None


def read_rules() -> SegmentRules:
    """The segment rules for reading (GET pages): the stored row, or unsaved defaults."""
    rules = db.session.scalar(select(SegmentRules).order_by(SegmentRules.id).limit(1))
    if rules is None:
        rules = SegmentRules(high_value=10_000.0, engaged_activity=8, quiet_activity=1, high_support_load=3,
                             weight_most_valuable=3.0, weight_growth_potential=1.5, weight_at_risk=2.0,
                             weight_ordinary=1.0, plan_values=dict(DEFAULT_PLAN_VALUES))
    return rules


def get_rules() -> SegmentRules:
    """The segment rules, stored with their defaults on first use (flushes)."""
    rules = read_rules()
    if rules.id is None:
        db.session.add(rules)
        db.session.flush()
    return rules


def weights(rules: SegmentRules | None = None) -> dict[str, float]:
    """Vote weight of each segment."""
    rules = rules or read_rules()
    return {
        Segment.most_valuable.value: rules.weight_most_valuable,
        Segment.growth_potential.value: rules.weight_growth_potential,
        Segment.at_risk.value: rules.weight_at_risk,
        Segment.ordinary.value: rules.weight_ordinary,
    }


def rule_lines(rules: SegmentRules | None = None) -> list[tuple[str, str]]:
    """The rule in words, checked top to bottom: (segment label, condition)."""
    r = rules or read_rules()
    return [
        (segment_label(Segment.at_risk), _(
            "paying, and %(load)d or more handoffs and thumbs-down in 90 days — or worth at least %(value)s a year "
            "with at most %(quiet)d activities in 90 days", load=r.high_support_load, value=f"{r.high_value:,.0f}",
            quiet=r.quiet_activity)),
        (segment_label(Segment.most_valuable), _("worth at least %(value)s a year", value=f"{r.high_value:,.0f}")),
        (segment_label(Segment.growth_potential), _(
            "at least %(n)d activities (ideas, votes, comments, posts, chat messages) in 90 days",
            n=r.engaged_activity)),
        (segment_label(Segment.ordinary), _("everyone else")),
    ]


RULE_FIELDS = ("high_value", "engaged_activity", "quiet_activity", "high_support_load", "weight_most_valuable",
               "weight_growth_potential", "weight_at_risk", "weight_ordinary")


def update_rules(staff: User, values: dict[str, Any], plan_values: dict[str, float] | None = None) -> SegmentRules:
    """Change thresholds and weights (staff); the caller enqueues a recomputation after commit."""
    if not staff.is_staff:
        from community.errors import Forbidden

        raise Forbidden(_("Only staff can change the segment rules."))
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name in RULE_FIELDS:
        if name not in values or values[name] is None or values[name] == "":
            continue
        try:
            number = float(values[name])
        except (TypeError, ValueError):
            errors[name] = [_("Enter a number.")]
            continue
        if number < 0 or (name.startswith("weight_") and number > 100):
            errors[name] = [_("Enter a number from 0 to 100.") if name.startswith("weight_")
                            else _("Enter a number of 0 or more.")]
            continue
        clean[name] = number if name in ("high_value",) or name.startswith("weight_") else int(number)
    if plan_values is not None:
        for value in plan_values.values():
            if not isinstance(value, (int, float)) or value < 0:
                errors["plan_values"] = [_("Each plan needs a yearly value of 0 or more.")]
    if errors:
        raise ValidationFailed(_("Some rule values are not valid."), errors)
    rules = get_rules()
    for name, value in clean.items():
        setattr(rules, name, value)
    if plan_values is not None:
        rules.plan_values = {k.strip().lower(): float(v) for k, v in plan_values.items() if k.strip()}
    rules.updated_by_id = staff.id
    db.session.flush()
    return rules


def parse_plan_values(text: str) -> dict[str, float]:
    """Plan values from lines "plan = value"; ValidationFailed names the line."""
    out: dict[str, float] = {}
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        plan, sep, value = line.partition("=")
        try:
            if not sep or not plan.strip():
                raise ValueError
            out[plan.strip().lower()] = float(value.strip().replace(",", ""))
        except ValueError:
            message = _("Line %(n)d: write “plan = yearly value”.", n=n)
            raise ValidationFailed(message, {"plan_values": [message]}) from None
    return out


@dataclass(frozen=True)
class Inputs:
    value: float
    engagement: int
    support_load: int


def classify(inputs: Inputs, rules: SegmentRules) -> Segment:
    """The segment of one customer under rules (the rule_lines order)."""
    paying = inputs.value > 0
    if paying and (inputs.support_load >= rules.high_support_load or (
            inputs.value >= rules.high_value and inputs.engagement <= rules.quiet_activity)):
        return Segment.at_risk
    if inputs.value >= rules.high_value:
        return Segment.most_valuable
    if inputs.engagement >= rules.engaged_activity:
        return Segment.growth_potential
    return Segment.ordinary


def value_of(annual_value: float | None, plan: str | None, rules: SegmentRules) -> float:
    """The customer's yearly value: the CRM's figure, else the plan's."""
    if annual_value is not None:
        return float(annual_value)
    plans = rules.plan_values or DEFAULT_PLAN_VALUES
    return float(plans.get((plan or "").strip().lower(), 0.0))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def activity_counts(user_ids: list[int] | None, since: datetime) -> tuple[Counter[int], Counter[int]]:
    """(engagement, support load) per user since a moment, in a fixed number of grouped queries per chunk."""
    engagement: Counter[int] = Counter()
    load: Counter[int] = Counter()
    sources = [
        (Idea.author_id, Idea.created_at, None),
        (Vote.user_id, Vote.created_at, None),
        (IdeaComment.author_id, IdeaComment.created_at, None),
        (Thread.author_id, Thread.created_at, None),
        (Reply.author_id, Reply.created_at, None),
    ]
    chunks = [None] if user_ids is None else list(_chunks(user_ids))
    for chunk in chunks:
        for who, when, _extra in sources:
            stmt = select(who, func.count()).where(when >= since, who.is_not(None)).group_by(who)
            if chunk is not None:
                stmt = stmt.where(who.in_(chunk))
            engagement.update(pairs(stmt))
        chat = (select(Conversation.user_id, func.count()).join(ChatMessage, ChatMessage.conversation_id == Conversation.id)
                .where(ChatMessage.role == "customer", ChatMessage.created_at >= since, Conversation.user_id.is_not(None))
                .group_by(Conversation.user_id))
        handoffs = (select(Conversation.user_id, func.count())
                    .where(Conversation.handoff_requested_at >= since, Conversation.user_id.is_not(None))
                    .group_by(Conversation.user_id))
        thumbs = (select(AnswerFeedback.user_id, func.count())
                  .where(AnswerFeedback.helpful.is_(False), AnswerFeedback.created_at >= since,
                         AnswerFeedback.user_id.is_not(None)).group_by(AnswerFeedback.user_id))
        if chunk is not None:
            chat = chat.where(Conversation.user_id.in_(chunk))
            handoffs = handoffs.where(Conversation.user_id.in_(chunk))
            thumbs = thumbs.where(AnswerFeedback.user_id.in_(chunk))
        engagement.update(pairs(chat))
        load.update(pairs(handoffs))
        load.update(pairs(thumbs))
    return engagement, load


def ensure_profiles(user_ids: list[int] | None = None) -> None:
    """Give every customer (or the given ones) a profile row, so lists and segments see them all."""
    stmt = select(User.id).outerjoin(CustomerProfile, CustomerProfile.user_id == User.id).where(
        User.role == Role.customer, CustomerProfile.user_id.is_(None))
    missing = list(db.session.scalars(stmt)) if user_ids is None else [
        uid for chunk in _chunks(user_ids) for uid in db.session.scalars(stmt.where(User.id.in_(chunk)))]
    rows = [{"user_id": uid, "attributes": {}, "interests": [], "segment": Segment.ordinary.value,
             "value_score": 0.0, "engagement": 0, "support_load": 0} for uid in missing]
    insert_ignore(CustomerProfile, ["user_id"], rows)


def recompute_segments(user_ids: list[int] | None = None, *, with_interests: bool = True) -> dict[str, int]:
    """Recompute the segment (and interests) of every customer or the given ones; flushes. Counts per segment."""
    from community.customers.services.interests import interests_for

    rules = get_rules()
    ensure_profiles(user_ids)
    now = utcnow()
    engagement, load = activity_counts(user_ids, now - timedelta(days=ENGAGEMENT_DAYS))
    stmt = select(CustomerProfile.user_id, CustomerProfile.annual_value, CustomerProfile.plan).join(
        User, User.id == CustomerProfile.user_id).where(User.deleted_at.is_(None))
    profiles = list(db.session.execute(stmt)) if user_ids is None else [
        row for chunk in _chunks(user_ids) for row in db.session.execute(stmt.where(CustomerProfile.user_id.in_(chunk)))]
    active_ids = [row.user_id for row in profiles if engagement.get(row.user_id)]
    topics = interests_for(active_ids) if with_interests else {}
    updates = []
    counts: Counter[str] = Counter()
    for row in profiles:
        inputs = Inputs(value_of(row.annual_value, row.plan, rules), int(engagement.get(row.user_id, 0)),
                        int(load.get(row.user_id, 0)))
        segment = classify(inputs, rules)
        counts[segment.value] += 1
        values = {"user_id": row.user_id, "segment": segment.value, "value_score": inputs.value,
                  "engagement": inputs.engagement, "support_load": inputs.support_load, "computed_at": now}
        if with_interests:
            values["interests"] = topics.get(row.user_id, [])
        updates.append(values)
    for start in range(0, len(updates), 5000):
        # ORM bulk UPDATE by primary key: one executemany, not one round trip per customer.
        db.session.execute(update(CustomerProfile), updates[start:start + 5000])
    db.session.flush()
    return {s.value: counts.get(s.value, 0) for s in SEGMENT_ORDER}


def segment_and_weight(user_id: int | None) -> tuple[str | None, float]:
    """The customer's stored segment and its vote weight now (staff and visitors weigh 1.0, no segment)."""
    if user_id is None:
        return None, 1.0
    segment = db.session.scalar(select(CustomerProfile.segment).where(CustomerProfile.user_id == user_id))
    if segment is None:
        return None, 1.0
    return segment, float(weights().get(segment, 1.0))


def segments_of(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Stored segment per user id (only customers with a profile), in one query per chunk."""
    ids = sorted({uid for uid in user_ids if uid is not None})
    out: dict[int, str] = {}
    for chunk in _chunks(ids):
        out.update(pairs(select(CustomerProfile.user_id, CustomerProfile.segment)
                         .where(CustomerProfile.user_id.in_(chunk))))
    return out


def segment_counts() -> dict[str, int]:
    """How many (not deleted) customers are in each segment."""
    rows = pairs(select(CustomerProfile.segment, func.count()).join(User, User.id == CustomerProfile.user_id)
                 .where(User.deleted_at.is_(None)).group_by(CustomerProfile.segment))
    return {s.value: int(rows.get(s.value, 0)) for s in SEGMENT_ORDER}
