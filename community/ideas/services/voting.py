"""Votes and follows: cast, record for a customer, retract, follow, and who hears about an idea."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from flask_babel import gettext as _
from sqlalchemy import delete, select

from community.errors import ValidationFailed
from community.database import changed_rows
from community.extensions import db
from community.models import (
    Idea, IdeaFollower,
    User, Vote, utcnow,
)
from community.ideas.services.rules import (
    MAX_NOTE,
    _bump,
    _insert_ignore,
    _open_for_change,
    _optional_text,
    _require_staff,
    idea_url,
    status_label,
)


def voter_weight(user: User) -> tuple[str | None, float]:
    """The customer's value segment and vote weight, recorded on the vote when it is cast.

    Customer value segments arrive in a later issue; until then every vote weighs 1.0.
    """
    return None, 1.0


def cast_vote(user: User, idea: Idea, *, recorded_by: User | None = None, note: str | None = None) -> bool:
    """Record user's vote once; a repeat (or racing duplicate) is a no-op. True when the vote is new."""
    if recorded_by is not None:
        _require_staff(recorded_by)
    note = _optional_text(note, "note", MAX_NOTE, _("Note"))
    _open_for_change(idea.id, allow_closed=False)
    segment, weight = voter_weight(user)
    inserted = _insert_ignore(Vote, ("user_id", "idea_id"), {
        "user_id": user.id, "idea_id": idea.id, "created_at": utcnow(), "weight": weight, "segment": segment,
        "recorded_by_id": recorded_by.id if recorded_by else None, "note": note,
    })
    if inserted:
        _bump(idea, "vote_count", 1)
    return inserted


def record_vote_for(staff: User, customer_email: str, idea: Idea, note: str | None) -> tuple[User, bool]:
    """Staff record a customer's vote (from a call or an e-mail) with a note."""
    _require_staff(staff)
    from community.models import find_user_by_email

    customer = find_user_by_email(customer_email or "")
    if customer is None:
        message = _("No account has this e-mail address.")
        raise ValidationFailed(message, {"email": [message]})
    return customer, cast_vote(customer, idea, recorded_by=staff, note=note)


def retract_vote(user: User, idea: Idea) -> bool:
    """Remove user's vote; True when there was one."""
    _open_for_change(idea.id, allow_closed=False)
    removed = changed_rows(db.session.execute(
        delete(Vote).where(Vote.user_id == user.id, Vote.idea_id == idea.id)
        .execution_options(synchronize_session=False)
    ))
    if removed:
        _bump(idea, "vote_count", -removed)
    return bool(removed)


def follow_idea(user: User, idea: Idea) -> bool:
    """Follow an idea (get its updates) without voting; True when newly followed."""
    _open_for_change(idea.id)
    inserted = _insert_ignore(IdeaFollower, ("user_id", "idea_id"),
                              {"user_id": user.id, "idea_id": idea.id, "created_at": utcnow()})
    if inserted:
        _bump(idea, "follower_count", 1)
    return inserted


def unfollow_idea(user: User, idea: Idea) -> bool:
    """Stop following; True when the user was following."""
    _open_for_change(idea.id)
    removed = changed_rows(db.session.execute(
        delete(IdeaFollower).where(IdeaFollower.user_id == user.id, IdeaFollower.idea_id == idea.id)
        .execution_options(synchronize_session=False)
    ))
    if removed:
        _bump(idea, "follower_count", -removed)
    return bool(removed)


def has_voted(user: User | None, idea_ids: Iterable[int]) -> set[int]:
    """Which of idea_ids the user voted on."""
    ids = list(idea_ids)
    if user is None or not getattr(user, "is_authenticated", False) or not ids:
        return set()
    return set(db.session.scalars(select(Vote.idea_id).where(Vote.user_id == user.id, Vote.idea_id.in_(ids))))


def is_following(user: User | None, idea: Idea) -> bool:
    """Whether the user follows the idea."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(IdeaFollower.id).where(
        IdeaFollower.user_id == user.id, IdeaFollower.idea_id == idea.id)) is not None


def audience(idea_id: int) -> set[int]:
    """Everyone who voted for or follows the idea."""
    voters = select(Vote.user_id).where(Vote.idea_id == idea_id)
    followers = select(IdeaFollower.user_id).where(IdeaFollower.idea_id == idea_id)
    return set(db.session.scalars(voters.union(followers)))


def voters(idea: Idea) -> list[Vote]:
    """The idea's votes with their recorded weight (staff view), newest first."""
    return list(db.session.scalars(select(Vote).where(Vote.idea_id == idea.id)
                                   .order_by(Vote.created_at.desc(), Vote.id.desc())))


def idea_summary(idea: Idea) -> dict[str, Any]:
    """What a client shows of an idea beside its vote button: title, status, counts and where it lives."""
    return {"id": idea.id, "title": idea.title, "status": idea.status.value, "status_label": status_label(idea.status),
            "vote_count": idea.vote_count, "follower_count": idea.follower_count, "url": idea_url(idea)}


@dataclass(frozen=True)
class VoteState:
    """The one answer to a vote or follow, wherever it came from (a page's fetch, the API, the chat)."""

    idea: Idea
    changed: bool  # False when the request repeated the current state
    voted: bool
    following: bool

    def to_dict(self) -> dict[str, Any]:
        """The one JSON shape of a vote or follow result."""
        return {"idea": idea_summary(self.idea), "changed": self.changed, "voted": self.voted, "following": self.following}


def vote_state(user: User, idea: Idea, changed: bool) -> VoteState:
    """The idea's counts as stored now, and whether user votes for and follows it."""
    db.session.refresh(idea)  # the counters changed by SQL, not through the object
    return VoteState(idea, changed, idea.id in has_voted(user, [idea.id]), is_following(user, idea))
