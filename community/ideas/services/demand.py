"""Demand on an idea: votes, followers and the signals other features register, its value and the priorities."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from flask_babel import gettext as _
from sqlalchemy import func, select

from community.extensions import db
from community.models import (
    CLOSED_STATUSES, Idea, User, Vote,
)


@dataclass(frozen=True)
class DemandSource:
    """Another feature's signal that customers want an idea (chat requests, knowledge gaps)."""

    key: str
    label: Callable[[], str]
    count: Callable[[int], int]
    requesters: Callable[[int], list[int]] = field(default=lambda _idea_id: [])


DEMAND_SOURCES: dict[str, DemandSource] = {}


def register_demand_source(source: DemandSource) -> None:
    """Let a feature (the bot's capture, the gap list) report how often an idea was asked for."""
    DEMAND_SOURCES[source.key] = source


def requesters(idea_id: int) -> set[int]:
    """Customers who asked for the idea elsewhere (chat), from the registered demand sources."""
    found: set[int] = set()
    for source in DEMAND_SOURCES.values():
        found.update(source.requesters(idea_id))
    return found


def requester_users(idea_id: int) -> list[User]:
    """The accounts behind requesters(idea_id), by name (the staff demand panel lists who asked)."""
    ids = requesters(idea_id)
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name, User.id)))


@dataclass
class Value:
    raw_votes: int
    weighted: float
    segments: list[tuple[str | None, int, float]]  # (segment, votes, weight sum)


def idea_value(idea_id: int) -> Value:
    """Votes raw and weighted by the value recorded at vote time, split by customer segment."""
    return idea_values([idea_id])[idea_id]


def idea_values(idea_ids: list[int]) -> dict[int, Value]:
    """idea_value for many ideas in one query."""
    rows = db.session.execute(
        select(Vote.idea_id, Vote.segment, func.count(), func.sum(func.coalesce(Vote.weight, 1.0)))
        .where(Vote.idea_id.in_(idea_ids)).group_by(Vote.idea_id, Vote.segment)
    ).all() if idea_ids else []
    by_idea: dict[int, list[tuple[str | None, int, float]]] = {i: [] for i in idea_ids}
    for idea_id, seg, n, w in rows:
        by_idea[idea_id].append((seg, int(n), float(w or 0)))
    values = {}
    for idea_id, found in by_idea.items():
        segments = sorted(found, key=lambda r: -r[2])
        values[idea_id] = Value(sum(r[1] for r in segments), round(sum(r[2] for r in segments), 2), segments)
    return values


def demand(idea: Idea) -> list[tuple[str, str, int]]:
    """(key, label, count) for votes, followers and every registered demand source (only real signals:
    a feature that does not report demand yet is not shown)."""
    rows = [("votes", _("Votes"), idea.vote_count), ("followers", _("Followers"), idea.follower_count)]
    rows += [(key, source.label(), source.count(idea.id)) for key, source in DEMAND_SOURCES.items()]
    return rows


def priorities(limit: int = 100) -> list[tuple[Idea, Value]]:
    """Undecided ideas with their value, highest weighted score first (staff)."""
    ideas = db.session.scalars(select(Idea).where(Idea.merged_into_id.is_(None),
                                                  Idea.status.not_in(list(CLOSED_STATUSES)))).all()
    values = idea_values([idea.id for idea in ideas])  # two queries however many ideas
    rows = [(idea, values[idea.id]) for idea in ideas]
    rows.sort(key=lambda r: (-r[1].weighted, -r[0].vote_count, -r[0].id))
    return rows[:limit]
