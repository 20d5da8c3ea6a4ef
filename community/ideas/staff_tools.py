"""Guard rails for staff actions that move votes or tell many people: previews before, corrections after."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, select

from community.errors import NotFound, ValidationFailed
from community.extensions import db
from community.ideas import services
from community.models import ChangelogEntry, Idea, IdeaComment, IdeaFollower, IdeaStatus, User, Vote, utcnow

PICKER_LIMIT = 10


def _count(stmt: Select) -> int:
    return int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


@dataclass(frozen=True)
class MergePreview:
    source: Idea
    target: Idea
    votes_moving: int  # votes that land on the target
    votes_merged: int  # voters of both ideas: their two votes count once
    followers_moving: int
    comments_moving: int
    notified: int  # everyone who voted for or follows the source


def merge_candidates(source: Idea, query: str) -> list[Idea]:
    """Ideas the source could be merged into: matching title words or number, else the closest by meaning."""
    query = " ".join(query.split())[:200]
    base = select(Idea).where(Idea.id != source.id, Idea.merged_into_id.is_(None))
    if query.lstrip("#").isdigit():
        return list(db.session.scalars(base.where(Idea.id == int(query.lstrip("#")))))
    if query:
        words = [w for w in query.lower().split() if len(w) > 1][:6]
        stmt = base.where(*[func.lower(Idea.title).like(f"%{w}%") for w in words]) if words else base
        return list(db.session.scalars(stmt.order_by(Idea.vote_count.desc(), Idea.id).limit(PICKER_LIMIT)))
    from community import search

    matches = search.related_documents("idea", source.id, source_types=("idea",), k=PICKER_LIMIT, min_score=0.4)
    ids = [int(m.source_id) for m in matches if m.source_id.isdigit()]
    found = {i.id: i for i in db.session.scalars(base.where(Idea.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def merge_preview(source: Idea, target: Idea) -> MergePreview:
    """What merging source into target would do, counted before anything changes."""
    if source.id == target.id:
        message = _("An idea cannot be merged into itself.")
        raise ValidationFailed(message, {"target_id": [message]})
    if target.merged_into_id is not None:
        raise ValidationFailed(_("That idea was itself merged; pick the idea it was merged into."),
                               {"target_id": [_("Already merged.")]})
    target_voters = select(Vote.user_id).where(Vote.idea_id == target.id)
    target_followers = select(IdeaFollower.user_id).where(IdeaFollower.idea_id == target.id)
    votes = _count(select(Vote.user_id).where(Vote.idea_id == source.id))
    both = _count(select(Vote.user_id).where(Vote.idea_id == source.id, Vote.user_id.in_(target_voters)))
    followers = _count(select(IdeaFollower.user_id).where(IdeaFollower.idea_id == source.id,
                                                         IdeaFollower.user_id.not_in(target_followers)))
    comments = _count(select(IdeaComment.id).where(IdeaComment.idea_id == source.id, IdeaComment.deleted_at.is_(None)))
    return MergePreview(source, target, votes - both, both, followers, comments, len(services.audience(source.id)))


@dataclass(frozen=True)
class ChangelogPreview:
    title: str
    body: str
    ideas: list[Idea]
    shipping: list[Idea]  # not shipped yet: they become shipped
    notified: int  # voters, followers and requesters of the delivered ideas


def changelog_preview(title: str | None, body: str | None, idea_ids: Iterable[int]) -> ChangelogPreview:
    """What publishing this changelog entry would do: ideas shipped and how many people are told."""
    ids = sorted({int(i) for i in idea_ids})
    ideas = list(db.session.scalars(select(Idea).where(Idea.id.in_(ids)).order_by(Idea.title))) if ids else []
    people: set[int] = set()
    for idea in ideas:
        people |= services.audience(idea.id) | services.requesters(idea.id)
    return ChangelogPreview((title or "").strip(), (body or "").strip(), ideas,
                            [i for i in ideas if i.status is not IdeaStatus.shipped], len(people))


def correct_changelog(entry_id: int, editor: User, title: str | None, body: str | None) -> ChangelogEntry:
    """Correct a published entry's text; nobody is notified again and the entry says it was corrected."""
    if not editor.is_staff:
        raise NotFound(_("There is no such changelog entry."))
    entry = db.session.get(ChangelogEntry, entry_id)
    if entry is None:
        raise NotFound(_("There is no such changelog entry."))
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(_("The title is required."), {"title": [_("Required.")]})
    entry.title = title[:200]
    entry.body = (body or "").strip()
    entry.corrected_at = utcnow()
    db.session.flush()
    return entry

