"""Idea rules: submit, vote, follow, discuss, move through statuses, merge, ship and close the loop.

Services validate and flush, never commit. Counters on `ideas` change only by atomic SQL in the
same transaction as the row they count, after the idea's row is locked (see _lock_idea), so
parallel clicks on SQLite and PostgreSQL can neither lose nor double a vote.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Sequence

from flask_babel import gettext as _
from sqlalchemy import Row, Subquery, Text, case, cast, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from community import search
from community.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from community.database import as_utc, changed_rows, page_offset
from community.extensions import db
from community.markup import plain_text
# One @mention syntax site-wide: the forum's parser (@DisplayNameWithoutSpaces, any case).
from community.mentions import mentioned_users as find_mentions
from community.models import (
    CLOSED_STATUSES, Article, ChangelogEntry, CommentRevision, ContentReview, Idea, IdeaComment, IdeaFollower,
    IdeaStatus, IdeaStatusChange, User, Vote, changelog_ideas, utcnow,
)
from community.notifications.services import notify

MAX_TITLE = 160
MIN_TITLE = 3
MAX_BODY = 20_000
MAX_COMMENT = 10_000
MAX_REASON = 2_000
MAX_NOTE = 1_000
MAX_CATEGORY = 40
MAX_TAGS = 8
MAX_TAG = 32
MAX_CHANGELOG_TITLE = 200
TRENDING_DAYS = 14
# Cosine above which a help-center article or accepted answer is "about" a shipped idea.
# Lower than DUPLICATE_THRESHOLD: an article explains a feature, it does not restate the request.
REVIEW_THRESHOLD = 0.55

STATUS_ORDER = (
    IdeaStatus.open, IdeaStatus.under_review, IdeaStatus.planned, IdeaStatus.in_progress,
    IdeaStatus.shipped, IdeaStatus.declined,
)
SORTS = ("trending", "top", "new", "status")
_TAG = re.compile(r"[^\w-]+")


class VotingClosed(Conflict):
    code = "voting_closed"


class IdeaMerged(Conflict):
    """The idea was folded into another; act on that one instead."""

    code = "idea_merged"

    def __init__(self, target_id: int) -> None:
        super().__init__(_("This idea was merged into another one."))
        self.target_id = target_id


def status_label(status: IdeaStatus) -> str:
    """The translated name of a status."""
    labels: dict[IdeaStatus, str] = {
        IdeaStatus.open: _("Open"),
        IdeaStatus.under_review: _("Under review"),
        IdeaStatus.planned: _("Planned"),
        IdeaStatus.in_progress: _("In progress"),
        IdeaStatus.shipped: _("Shipped"),
        IdeaStatus.declined: _("Declined"),
    }
    return labels[status]


def voter_weight(user: User) -> tuple[str | None, float]:
    """The customer's value segment and vote weight, recorded on the vote when it is cast.

    Customer value segments arrive in a later issue; until then every vote weighs 1.0.
    """
    return None, 1.0


# ---------------------------------------------------------------- demand hooks

@dataclass(frozen=True)
class DemandSource:
    """Another feature's signal that customers want an idea (chat requests, knowledge gaps)."""

    key: str
    label: Callable[[], str]
    count: Callable[[int], int]
    requesters: Callable[[int], list[int]] = field(default=lambda _idea_id: [])


DEMAND_SOURCES: dict[str, DemandSource] = {}
# Shown on every idea even before the feature that feeds them exists.
EXPECTED_DEMAND: dict[str, Callable[[], str]] = {"chat_requests": lambda: _("Chat requests"), "gaps": lambda: _("Knowledge gaps")}


def register_demand_source(source: DemandSource) -> None:
    """Let a feature (the bot's capture, the gap list) report how often an idea was asked for."""
    DEMAND_SOURCES[source.key] = source


# ---------------------------------------------------------------- validation

def _required_text(value: str | None, field_name: str, max_len: int, label: str, min_len: int = 1) -> str:
    text = (value or "").strip()
    if len(text) < min_len:
        message = _("%(label)s is required.", label=label) if not text else _(
            "%(label)s needs at least %(n)d characters.", label=label, n=min_len)
        raise ValidationFailed(message, {field_name: [message]})
    if len(text) > max_len:
        message = _("%(label)s can be at most %(n)d characters long.", label=label, n=max_len)
        raise ValidationFailed(message, {field_name: [message]})
    return text


def _optional_text(value: str | None, field_name: str, max_len: int, label: str) -> str | None:
    text = (value or "").strip()
    if len(text) > max_len:
        message = _("%(label)s can be at most %(n)d characters long.", label=label, n=max_len)
        raise ValidationFailed(message, {field_name: [message]})
    return text or None


def normalize_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Lower-case slug tags, distinct, from a list or a comma-separated string."""
    if tags is None:
        return []
    raw = tags.split(",") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for tag in raw:
        slug = _TAG.sub("-", str(tag).strip().lower()).strip("-_")
        if not slug:
            continue
        if len(slug) > MAX_TAG:
            message = _("A tag can be at most %(n)d characters long.", n=MAX_TAG)
            raise ValidationFailed(message, {"tags": [message]})
        if slug not in out:
            out.append(slug)
    if len(out) > MAX_TAGS:
        message = _("Use at most %(n)d tags.", n=MAX_TAGS)
        raise ValidationFailed(message, {"tags": [message]})
    return out


def check_idea(title: str | None, body: str | None, category: str | None,
               tags: Iterable[str] | str | None) -> tuple[str, str, str | None, list[str]]:
    """Validate and normalise an idea's fields, raising ValidationFailed with field errors."""
    title = " ".join(_required_text(title, "title", MAX_TITLE, _("Title"), MIN_TITLE).split())
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        message = _("The description can be at most %(n)d characters long.", n=MAX_BODY)
        raise ValidationFailed(message, {"body": [message]})
    cat = _optional_text(category, "category", MAX_CATEGORY, _("Category"))
    return title, body, cat.lower() if cat else None, normalize_tags(tags)


def parse_status(value: str | IdeaStatus) -> IdeaStatus:
    """The status named by value, or ValidationFailed."""
    try:
        return value if isinstance(value, IdeaStatus) else IdeaStatus(value)
    except ValueError:
        message = _("Unknown status.")
        raise ValidationFailed(message, {"status": [message]}) from None


def _require_staff(user: User) -> None:
    if not user.is_staff:
        raise Forbidden(_("Only staff can do this."))


# ---------------------------------------------------------------- atomic helpers

def _lock_idea(idea_id: int) -> Row[Any] | None:
    """Lock the idea's row for this transaction and read its current state.

    A no-op UPDATE (rather than SELECT … FOR UPDATE) because SQLite ignores FOR UPDATE and
    only an UPDATE makes it take the write lock; on PostgreSQL it takes the row lock. Every
    vote, follow and merge locks the idea first, so they serialise per idea and never deadlock.
    """
    return db.session.execute(
        update(Idea).where(Idea.id == idea_id)
        .values(updated_at=Idea.updated_at)
        .returning(Idea.status, Idea.merged_into_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()


def _open_for_change(idea_id: int, allow_closed: bool = True) -> Row[Any]:
    state = _lock_idea(idea_id)
    if state is None:
        raise NotFound(_("This idea does not exist."))
    if state.merged_into_id is not None:
        raise IdeaMerged(state.merged_into_id)
    if not allow_closed and state.status in CLOSED_STATUSES:
        raise VotingClosed(_("Voting on this idea is closed: it is %(status)s.", status=status_label(state.status)))
    return state


def _insert_ignore(model: type[Any], unique: Sequence[str], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was inserted.

    A racing duplicate becomes a no-op instead of an IntegrityError, on both databases,
    without a savepoint (pysqlite's savepoints can commit early).
    """
    dialect = db.session.get_bind().dialect.name
    build = pg_insert if dialect == "postgresql" else sqlite_insert
    table = model.__table__
    stmt = build(table).values(**values).on_conflict_do_nothing(index_elements=list(unique)).returning(table.c.id)
    # RETURNING, not rowcount: psycopg reports no reliable rowcount for this statement.
    return db.session.execute(stmt).first() is not None


def _bump(idea: Idea, column: str, delta: int) -> None:
    """Add delta to a counter in SQL (never read-modify-write in Python)."""
    col = getattr(Idea, column)
    db.session.execute(
        update(Idea).where(Idea.id == idea.id).values({column: col + delta, "updated_at": Idea.updated_at})
        .execution_options(synchronize_session=False)
    )
    db.session.expire(idea, [column])


def _reindex(idea: Idea) -> None:
    search.index_document(
        "idea", idea.id, title=idea.title, body=idea.body,
        meta={"visibility": "public", "status": idea.status.value, "category": idea.category},
    )


def get_idea_or_404(idea_id: int) -> Idea:
    """The idea, or NotFound (a 404 page or JSON error) when there is none."""
    idea = db.session.get(Idea, idea_id)
    if idea is None:
        raise NotFound(_("This idea does not exist."))
    return idea


def idea_url(idea: Idea | int) -> str:
    """The idea's page, as a site-relative link for notifications (works outside requests: CLI, seed)."""
    return f"/ideas/{idea if isinstance(idea, int) else idea.id}"


# ---------------------------------------------------------------- new-account limits

# A new account (younger than IDEAS_NEW_ACCOUNT_HOURS) may post only so many ideas and comments an hour:
# a script that registers and floods gets a handful of posts, not thousands. Staff are never limited.
RATE_DEFAULTS = {"IDEAS_NEW_ACCOUNT_HOURS": 24, "IDEAS_NEW_PER_HOUR": 5, "IDEA_COMMENTS_NEW_PER_HOUR": 20}


def _setting(name: str) -> int:
    from flask import current_app, has_app_context

    return int(current_app.config.get(name, RATE_DEFAULTS[name])) if has_app_context() else RATE_DEFAULTS[name]


def check_posting_rate(author: User, kind: str) -> None:
    """Refuse (429) a new account's idea or comment beyond its hourly allowance."""
    if author.is_staff or as_utc(author.created_at) <= utcnow() - timedelta(hours=_setting("IDEAS_NEW_ACCOUNT_HOURS")):
        return
    model, per_hour = ((Idea, _setting("IDEAS_NEW_PER_HOUR")) if kind == "idea"
                       else (IdeaComment, _setting("IDEA_COMMENTS_NEW_PER_HOUR")))
    since = utcnow() - timedelta(hours=1)
    posted = db.session.scalar(select(func.count()).select_from(model)
                               .where(model.author_id == author.id, model.created_at >= since)) or 0
    if posted >= per_hour:
        raise RateLimited(_("New members can post %(n)d of these an hour. Please try again later.", n=per_hour),
                          retry_after=3600)


# ---------------------------------------------------------------- submit and edit

def submit_idea(author: User, title: str | None, body: str | None, category: str | None = None,
                tags: Iterable[str] | str | None = None, external_id: str | None = None, *,
                limit_rate: bool = True) -> Idea:
    """Post a new idea; its author follows it. Indexed for duplicate suggestions in this transaction."""
    title, body, category, tag_list = check_idea(title, body, category, tags)
    if limit_rate:
        check_posting_rate(author, "idea")
    idea = Idea(title=title, body=body, author_id=author.id, category=category, tags=tag_list,
                status=IdeaStatus.open, external_id=external_id)
    db.session.add(idea)
    db.session.flush()
    db.session.add(IdeaStatusChange(idea_id=idea.id, event="posted", from_status=None, to_status=IdeaStatus.open,
                                    by_id=author.id))
    follow_idea(author, idea)
    _reindex(idea)
    _notify_mentions(idea, author, [u for u in find_mentions(body) if u.id != author.id])
    return idea


def _notify_mentions(idea: Idea, actor: User, users: list[User]) -> None:
    notify(users, "idea.mention", _("%(name)s mentioned you on “%(title)s”", name=actor.display_name,
                                    title=idea.title), idea_url(idea), plain_text(idea.body)[:300], actor=actor)


def edit_idea(idea: Idea, editor: User, title: str | None, body: str | None, category: str | None,
              tags: Iterable[str] | str | None) -> Idea:
    """Change an idea's text: staff always, the author while it is still open."""
    if not (editor.is_staff or (editor.id == idea.author_id and idea.status is IdeaStatus.open)):
        raise Forbidden(_("Only staff can edit this idea now."))
    if idea.merged_into_id is not None:
        raise IdeaMerged(idea.merged_into_id)
    before = {u.id for u in find_mentions(idea.body)}
    idea.title, idea.body, idea.category, idea.tags = check_idea(title, body, category, tags)
    db.session.flush()
    _reindex(idea)
    _notify_mentions(idea, editor, [u for u in find_mentions(idea.body) if u.id not in before and u.id != editor.id])
    return idea


# ---------------------------------------------------------------- vote and follow

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


# ---------------------------------------------------------------- comments

def add_comment(idea: Idea, author: User, body: str | None, *, notify_users: bool = True,
                limit_rate: bool = True) -> IdeaComment:
    """Comment on an idea (staff comments are official); the author follows it; mentions are told."""
    text = _required_text(body, "body", MAX_COMMENT, _("Comment"))
    if limit_rate:
        check_posting_rate(author, "comment")
    _open_for_change(idea.id)
    comment = IdeaComment(idea_id=idea.id, author_id=author.id, body=text, official=author.is_staff,
                          created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    _bump(idea, "comment_count", 1)
    follow_idea(author, idea)
    if notify_users:
        mentioned = [u for u in find_mentions(text) if u.id != author.id]
        link = idea_url(idea) + f"#comment-{comment.id}"
        notify(mentioned, "idea.mention", _("%(name)s mentioned you on “%(title)s”", name=author.display_name,
                                            title=idea.title), link, plain_text(text)[:300], actor=author)
        already = {u.id for u in mentioned}
        notify(sorted(audience_followers(idea.id) - already), "idea.comment",
               _("%(name)s commented on “%(title)s”", name=author.display_name, title=idea.title),
               link, plain_text(text)[:300], actor=author)
    return comment


def audience_followers(idea_id: int) -> set[int]:
    """The idea's followers (comments go to them, not to every voter)."""
    return set(db.session.scalars(select(IdeaFollower.user_id).where(IdeaFollower.idea_id == idea_id)))


def _may_change_comment(comment: IdeaComment, user: User) -> None:
    if comment.deleted_at is not None:
        raise NotFound(_("This comment was deleted."))
    if not (user.is_staff or user.id == comment.author_id):
        raise Forbidden(_("You can only change your own comments."))


def edit_comment(comment: IdeaComment, editor: User, body: str | None) -> IdeaComment:
    """Change a comment, keeping its previous text as a revision; newly mentioned people are told."""
    _may_change_comment(comment, editor)
    text = _required_text(body, "body", MAX_COMMENT, _("Comment"))
    if text == comment.body:
        return comment
    before = {u.id for u in find_mentions(comment.body)}
    db.session.add(CommentRevision(comment_id=comment.id, body=comment.body, edited_by_id=editor.id,
                                   created_at=utcnow()))
    comment.body = text
    comment.edited_at = utcnow()
    db.session.flush()
    new = [u for u in find_mentions(text) if u.id not in before and u.id != editor.id]
    if new:
        idea = comment.idea
        notify(new, "idea.mention", _("%(name)s mentioned you on “%(title)s”", name=editor.display_name,
                                      title=idea.title), idea_url(idea) + f"#comment-{comment.id}",
               plain_text(text)[:300], actor=editor)
    return comment


def delete_comment(comment: IdeaComment, user: User) -> None:
    """Hide a comment (its author or staff); revisions stay for moderation."""
    _may_change_comment(comment, user)
    comment.deleted_at = utcnow()
    db.session.flush()
    _bump(comment.idea, "comment_count", -1)


# ---------------------------------------------------------------- statuses and closing the loop

def change_status(idea: Idea, new_status: str | IdeaStatus, by: User, reason: str | None = None, *,
                  changelog: ChangelogEntry | None = None, notify_users: bool = True) -> IdeaStatusChange:
    """Move an idea to a status (staff only), put it on the timeline and tell voters and followers."""
    _require_staff(by)
    status = parse_status(new_status)
    reason = _optional_text(reason, "reason", MAX_REASON, _("Reason"))
    if status is IdeaStatus.declined and not reason:
        message = _("Say why the idea is declined; voters will read it.")
        raise ValidationFailed(message, {"reason": [message]})
    state = _open_for_change(idea.id)
    if state.status is status:
        message = _("The idea is already %(status)s.", status=status_label(status))
        raise ValidationFailed(message, {"status": [message]})
    db.session.refresh(idea)
    change = IdeaStatusChange(idea_id=idea.id, event="status", from_status=idea.status, to_status=status,
                              reason=reason, by_id=by.id, at=utcnow())
    db.session.add(change)
    idea.status = status
    idea.status_reason = reason
    if status is IdeaStatus.shipped:
        idea.shipped_at = utcnow()
    db.session.flush()
    _reindex(idea)
    if notify_users:
        recipients = audience(idea.id)
        if status is IdeaStatus.shipped:
            recipients |= requesters(idea.id)
        title = _("“%(title)s” is now %(status)s", title=idea.title, status=status_label(status))
        body = reason or ""
        if changelog is not None:
            body = _("Released in: %(entry)s", entry=changelog.title)
        notify(sorted(recipients), "idea.status", title, idea_url(idea), body, actor=by)
    if status is IdeaStatus.shipped:
        flag_content_for_review(idea)
    return change


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


def flag_content_for_review(idea: Idea, threshold: float | None = None) -> list[ContentReview]:
    """Flag help-center articles and accepted answers that describe the shipped idea, for staff to re-read."""
    text = f"{idea.title}\n\n{plain_text(idea.body)}"
    matches = search.similar(text, source_types=["article", "answer"], k=10,
                             min_score=REVIEW_THRESHOLD if threshold is None else threshold)
    created: list[ContentReview] = []
    reason = _("“%(title)s” shipped; check this still describes the product.", title=idea.title)
    for match in matches:
        open_flag = db.session.scalar(select(ContentReview.id).where(
            ContentReview.source_type == match.source_type, ContentReview.source_id == match.source_id,
            ContentReview.idea_id == idea.id, ContentReview.resolved_at.is_(None)))
        if open_flag is not None:
            continue
        if match.source_type == "article":
            article = db.session.get(Article, int(match.source_id)) if match.source_id.isdigit() else None
            if article is None:
                continue
            article.needs_review = True
        review = ContentReview(source_type=match.source_type, source_id=match.source_id, reason=reason,
                               score=round(match.score, 4), idea_id=idea.id, created_at=utcnow())
        db.session.add(review)
        created.append(review)
    db.session.flush()
    return created


def resolve_review(review: ContentReview, by: User) -> None:
    """Mark a review flag done; an article stays flagged while any other flag on it is open."""
    _require_staff(by)
    if review.resolved_at is not None:
        return
    review.resolved_at = utcnow()
    review.resolved_by_id = by.id
    db.session.flush()
    if review.source_type == "article" and review.source_id.isdigit():
        still_open = db.session.scalar(select(func.count()).select_from(ContentReview).where(
            ContentReview.source_type == "article", ContentReview.source_id == review.source_id,
            ContentReview.resolved_at.is_(None)))
        article = db.session.get(Article, int(review.source_id))
        if article is not None and not still_open:
            article.needs_review = False
            db.session.flush()


def open_reviews() -> list[ContentReview]:
    """Unresolved review flags, newest first."""
    return list(db.session.scalars(select(ContentReview).where(ContentReview.resolved_at.is_(None))
                                   .order_by(ContentReview.created_at.desc(), ContentReview.id.desc())))


def timeline(idea: Idea) -> list[IdeaStatusChange]:
    """The idea's public history, oldest first."""
    return list(db.session.scalars(select(IdeaStatusChange).where(IdeaStatusChange.idea_id == idea.id)
                                   .order_by(IdeaStatusChange.at, IdeaStatusChange.id)))


# ---------------------------------------------------------------- merge

def merge_ideas(source: Idea, target: Idea, by: User) -> Idea:
    """Fold source into target: votes (each customer once), followers and comments move; source redirects."""
    _require_staff(by)
    if source.id == target.id:
        message = _("An idea cannot be merged into itself.")
        raise ValidationFailed(message, {"target_id": [message]})
    # Lock both rows in id order so two merges (or votes) cannot deadlock.
    for idea_id in sorted((source.id, target.id)):
        _open_for_change(idea_id)
    both_voted = select(Vote.user_id).where(Vote.idea_id == target.id)
    both_follow = select(IdeaFollower.user_id).where(IdeaFollower.idea_id == target.id)
    notified = audience(source.id)
    opts = {"synchronize_session": False}
    db.session.execute(delete(Vote).where(Vote.idea_id == source.id, Vote.user_id.in_(both_voted))
                       .execution_options(**opts))
    db.session.execute(update(Vote).where(Vote.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    db.session.execute(delete(IdeaFollower).where(IdeaFollower.idea_id == source.id,
                                                  IdeaFollower.user_id.in_(both_follow)).execution_options(**opts))
    db.session.execute(update(IdeaFollower).where(IdeaFollower.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    db.session.execute(update(IdeaComment).where(IdeaComment.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    linked = select(changelog_ideas.c.entry_id).where(changelog_ideas.c.idea_id == target.id)
    db.session.execute(delete(changelog_ideas).where(changelog_ideas.c.idea_id == source.id,
                                                     changelog_ideas.c.entry_id.in_(linked)))
    db.session.execute(update(changelog_ideas).where(changelog_ideas.c.idea_id == source.id)
                       .values(idea_id=target.id))
    db.session.execute(update(ContentReview).where(ContentReview.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    # Recount rather than add: the rows moved minus the duplicates removed, exactly.
    db.session.execute(update(Idea).where(Idea.id == target.id).values(
        vote_count=select(func.count()).select_from(Vote).where(Vote.idea_id == target.id).scalar_subquery(),
        follower_count=select(func.count()).select_from(IdeaFollower)
        .where(IdeaFollower.idea_id == target.id).scalar_subquery(),
        comment_count=select(func.count()).select_from(IdeaComment)
        .where(IdeaComment.idea_id == target.id, IdeaComment.deleted_at.is_(None)).scalar_subquery(),
    ).execution_options(**opts))
    db.session.execute(update(Idea).where(Idea.id == source.id).values(
        merged_into_id=target.id, vote_count=0, follower_count=0, comment_count=0).execution_options(**opts))
    db.session.add(IdeaStatusChange(idea_id=target.id, event="merged", from_status=target.status,
                                    to_status=target.status, reason=source.title, by_id=by.id, at=utcnow()))
    db.session.flush()
    db.session.expire_all()
    search.remove_document("idea", source.id)
    notify(sorted(notified), "idea.merged",
           _("“%(source)s” was merged into “%(target)s”", source=source.title, target=target.title),
           idea_url(target), _("Your vote and follow moved with it."), actor=by)
    return target


def resolve_merged(idea: Idea, depth: int = 5) -> Idea:
    """Follow merge redirects to the idea that now carries the votes."""
    while idea.merged_into_id is not None and depth > 0:
        idea = db.session.get(Idea, idea.merged_into_id) or idea
        depth -= 1
    return idea


# ---------------------------------------------------------------- semantic features

def similar_ideas(text: str, k: int = 5, exclude_id: int | None = None) -> list[tuple[Idea, float]]:
    """Existing ideas that mean the same as text (for "vote instead of posting a duplicate")."""
    text = (text or "").strip()[:500]
    if len(text) < MIN_TITLE:
        return []
    exclude = [("idea", str(exclude_id))] if exclude_id is not None else []
    matches = search.similar(text, source_types=["idea"], k=k, exclude=exclude,
                             min_score=search.DUPLICATE_THRESHOLD, filters={"visibility": "public"})
    ids = [int(m.source_id) for m in matches if m.source_id.isdigit()]
    ideas = {i.id: i for i in db.session.scalars(select(Idea).where(Idea.id.in_(ids), Idea.merged_into_id.is_(None)))}
    return [(ideas[int(m.source_id)], m.score) for m in matches if m.source_id.isdigit() and int(m.source_id) in ideas]


def duplicate_pairs(limit: int = 50) -> list[tuple[Idea, Idea, float]]:
    """Pairs of unmerged ideas the index thinks mean the same thing, each pair once, best first."""
    ideas = db.session.scalars(select(Idea).where(Idea.merged_into_id.is_(None),
                                                  Idea.status.not_in(list(CLOSED_STATUSES)))).all()
    by_id = {i.id: i for i in ideas}
    best: dict[tuple[int, int], float] = {}
    for idea in ideas:
        for match in search.similar(idea.title, source_types=["idea"], k=5, exclude=[("idea", str(idea.id))],
                                    min_score=search.DUPLICATE_THRESHOLD):
            other = int(match.source_id) if match.source_id.isdigit() else None
            if other is None or other not in by_id:
                continue
            key = (min(idea.id, other), max(idea.id, other))
            best[key] = max(best.get(key, 0.0), match.score)
    pairs = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return [(by_id[a], by_id[b], score) for (a, b), score in pairs]


# ---------------------------------------------------------------- boards, roadmap, changelog

@dataclass
class Page:
    items: list[Idea]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def trending_scores(now: datetime | None = None) -> Subquery:
    """Per-idea trending score subquery (idea_id, score).

    Each vote from the last 14 days counts (14 − d) / 14, d being its age in whole days: a vote
    today counts 1, one from 13 days ago 1/14, older votes 0. Stored as the integer sum of (14 − d)
    so SQLite and PostgreSQL compute it identically from bound cut-off times.
    """
    now = now or utcnow()
    steps = [(Vote.created_at >= now - timedelta(days=d + 1), TRENDING_DAYS - d) for d in range(TRENDING_DAYS)]
    return (select(Vote.idea_id, func.sum(case(*steps, else_=0)).label("score"))
            .where(Vote.created_at >= now - timedelta(days=TRENDING_DAYS))
            .group_by(Vote.idea_id).subquery())


def list_ideas(sort: str = "trending", status: str | None = None, category: str | None = None,
               tag: str | None = None, q: str | None = None, page: int = 1, per_page: int = 20) -> Page:
    """One page of the board: unmerged ideas, filtered and sorted."""
    if sort not in SORTS:
        message = _("Unknown sort order.")
        raise ValidationFailed(message, {"sort": [message]})
    page = max(1, page)
    per_page = min(max(1, per_page), 100)
    stmt = select(Idea).where(Idea.merged_into_id.is_(None))
    if status:
        stmt = stmt.where(Idea.status == parse_status(status))
    if category:
        stmt = stmt.where(Idea.category == category.strip().lower())
    if tag:
        tags = normalize_tags([tag])
        if tags:
            # Tags are slugs (no quotes), so matching the JSON text is exact and portable.
            stmt = stmt.where(cast(Idea.tags, Text).like(f'%"{tags[0]}"%'))
    if q and q.strip():
        stmt = stmt.where(or_(Idea.title.ilike(f"%{q.strip()}%"), Idea.body.ilike(f"%{q.strip()}%")))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if sort == "trending":
        scores = trending_scores()
        stmt = stmt.outerjoin(scores, scores.c.idea_id == Idea.id).order_by(
            func.coalesce(scores.c.score, 0).desc(), Idea.vote_count.desc(), Idea.id.desc())
    elif sort == "top":
        stmt = stmt.order_by(Idea.vote_count.desc(), Idea.id.desc())
    elif sort == "new":
        stmt = stmt.order_by(Idea.created_at.desc(), Idea.id.desc())
    else:
        position = case({s: n for n, s in enumerate(STATUS_ORDER)}, value=Idea.status)
        stmt = stmt.order_by(position, Idea.vote_count.desc(), Idea.id.desc())
    items = list(db.session.scalars(stmt.offset(page_offset(page, per_page)).limit(per_page)))
    return Page(items, total, page, per_page)


def categories() -> list[str]:
    """Categories in use, for filters and the submit form."""
    return list(db.session.scalars(select(Idea.category).where(Idea.category.is_not(None))
                                          .distinct().order_by(Idea.category)))


def roadmap(shipped_days: int = 90, per_column: int = 50) -> dict[IdeaStatus, list[Idea]]:
    """The public roadmap: planned, in progress, and recently shipped."""
    base = select(Idea).where(Idea.merged_into_id.is_(None))
    since = utcnow() - timedelta(days=shipped_days)
    return {
        IdeaStatus.planned: list(db.session.scalars(base.where(Idea.status == IdeaStatus.planned)
                                                    .order_by(Idea.vote_count.desc()).limit(per_column))),
        IdeaStatus.in_progress: list(db.session.scalars(base.where(Idea.status == IdeaStatus.in_progress)
                                                        .order_by(Idea.vote_count.desc()).limit(per_column))),
        IdeaStatus.shipped: list(db.session.scalars(base.where(Idea.status == IdeaStatus.shipped,
                                                               Idea.shipped_at >= since)
                                                    .order_by(Idea.shipped_at.desc()).limit(per_column))),
    }


def publish_changelog(author: User, title: str | None, body: str | None, idea_ids: Iterable[int]) -> ChangelogEntry:
    """Publish a changelog entry; the ideas it delivers become shipped and their voters are told."""
    _require_staff(author)
    title = _required_text(title, "title", MAX_CHANGELOG_TITLE, _("Title"))
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        message = _("The text can be at most %(n)d characters long.", n=MAX_BODY)
        raise ValidationFailed(message, {"body": [message]})
    ids = sorted({int(i) for i in idea_ids})
    ideas = list(db.session.scalars(select(Idea).where(Idea.id.in_(ids)))) if ids else []
    if len(ideas) != len(ids) or any(i.merged_into_id is not None for i in ideas):
        message = _("Some of the chosen ideas do not exist or were merged.")
        raise ValidationFailed(message, {"ideas": [message]})
    entry = ChangelogEntry(title=title, body=body, author_id=author.id, published_at=utcnow())
    entry.ideas = ideas
    db.session.add(entry)
    db.session.flush()
    for idea in ideas:
        if idea.status is not IdeaStatus.shipped:
            change_status(idea, IdeaStatus.shipped, author, changelog=entry)
        else:
            notify(sorted(audience(idea.id) | requesters(idea.id)), "idea.changelog",
                   _("“%(title)s” is in the changelog", title=idea.title),
                   f"/ideas/changelog#entry-{entry.id}", entry.title, actor=author)
    return entry


def changelog_entries(limit: int = 50) -> list[ChangelogEntry]:
    """Published changelog entries, newest first."""
    return list(db.session.scalars(select(ChangelogEntry).order_by(ChangelogEntry.published_at.desc(),
                                                                   ChangelogEntry.id.desc()).limit(limit)))


# ---------------------------------------------------------------- prioritisation

@dataclass
class Value:
    raw_votes: int
    weighted: float
    segments: list[tuple[str | None, int, float]]  # (segment, votes, weight sum)


def idea_value(idea_id: int) -> Value:
    """Votes raw and weighted by the value recorded at vote time, split by customer segment."""
    rows = db.session.execute(
        select(Vote.segment, func.count(), func.sum(func.coalesce(Vote.weight, 1.0)))
        .where(Vote.idea_id == idea_id).group_by(Vote.segment)
    ).all()
    segments = sorted(((seg, int(n), float(w or 0)) for seg, n, w in rows), key=lambda r: -r[2])
    return Value(sum(r[1] for r in segments), round(sum(r[2] for r in segments), 2), segments)


def demand(idea: Idea) -> list[tuple[str, str, int, bool]]:
    """(key, label, count, linked) for every demand signal; unlinked sources show 0 until their feature lands."""
    rows = [("votes", _("Votes"), idea.vote_count, True), ("followers", _("Followers"), idea.follower_count, True)]
    for key, label in EXPECTED_DEMAND.items():
        source = DEMAND_SOURCES.get(key)
        rows.append((key, source.label() if source else label(), source.count(idea.id) if source else 0,
                     source is not None))
    for key, source in DEMAND_SOURCES.items():
        if key not in EXPECTED_DEMAND:
            rows.append((key, source.label(), source.count(idea.id), True))
    return rows


def priorities(limit: int = 100) -> list[tuple[Idea, Value]]:
    """Undecided ideas with their value, highest weighted score first (staff)."""
    ideas = db.session.scalars(select(Idea).where(Idea.merged_into_id.is_(None),
                                                  Idea.status.not_in(list(CLOSED_STATUSES)))).all()
    rows = [(idea, idea_value(idea.id)) for idea in ideas]
    rows.sort(key=lambda r: (-r[1].weighted, -r[0].vote_count, -r[0].id))
    return rows[:limit]


def voters(idea: Idea) -> list[Vote]:
    """The idea's votes with their recorded weight (staff view), newest first."""
    return list(db.session.scalars(select(Vote).where(Vote.idea_id == idea.id)
                                   .order_by(Vote.created_at.desc(), Vote.id.desc())))


def comments(idea: Idea) -> list[IdeaComment]:
    """Visible comments, oldest first."""
    return list(db.session.scalars(select(IdeaComment).where(IdeaComment.idea_id == idea.id,
                                                             IdeaComment.deleted_at.is_(None))
                                   .order_by(IdeaComment.created_at, IdeaComment.id)))

