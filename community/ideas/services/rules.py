"""Idea rules every job shares: limits, statuses, checks, the idea row lock and counters, finding an idea."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from flask_babel import gettext as _
from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from community import search
from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    CLOSED_STATUSES, Idea, IdeaStatus, User, utcnow,
)
from community.tags import normalize_tags


MAX_TITLE = 160


MIN_TITLE = 3


MAX_BODY = 20_000


MAX_COMMENT = 10_000


MAX_REASON = 2_000


MAX_NOTE = 1_000


MAX_CATEGORY = 40


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
        # updated_at moves (onupdate): a new vote count is a change integrations sync (/api/v1/ideas/changes).
        update(Idea).where(Idea.id == idea.id).values({column: col + delta})
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
    from datetime import timedelta

    from community.database import as_utc
    from community.errors import RateLimited
    from community.models import IdeaComment

    if author.is_staff or as_utc(author.created_at) <= utcnow() - timedelta(hours=_setting("IDEAS_NEW_ACCOUNT_HOURS")):
        return
    model: Any = Idea if kind == "idea" else IdeaComment
    per_hour = _setting("IDEAS_NEW_PER_HOUR") if kind == "idea" else _setting("IDEA_COMMENTS_NEW_PER_HOUR")
    since = utcnow() - timedelta(hours=1)
    posted = db.session.scalar(select(func.count()).select_from(model)
                               .where(model.author_id == author.id, model.created_at >= since)) or 0
    if posted >= per_hour:
        raise RateLimited(_("New members can post %(n)d of these an hour. Please try again later.", n=per_hour),
                          retry_after=3600)
