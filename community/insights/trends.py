"""Trends: each theme's volume per week, rising and new themes, and the staff e-mail digest."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.extensions import db
from community.models import DigestSubscription, Theme, ThemeItem, ThemeRun, User
from community.models.base import as_utc, utcnow

WEEKS = 12
RECENT_WEEKS = 4
RISING_RATIO = 1.5  # recent weeks hold at least 1.5x the weeks before them
RISING_MIN = 3  # and at least this many items, so one or two posts are no trend


def week_start(moment: datetime | date) -> date:
    """The Monday of moment's ISO week."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


@dataclass
class ThemeTrend:
    theme: Theme
    counts: list[int]  # one per week, oldest first
    recent: int
    before: int

    @property
    def is_new(self) -> bool:
        return self.theme.previous_size is None and self.theme.run.previous_run_id is not None

    @property
    def is_rising(self) -> bool:
        return self.recent >= RISING_MIN and self.recent >= RISING_RATIO * max(self.before, 1)


@dataclass
class Trends:
    weeks: list[date]
    themes: list[ThemeTrend]

    @property
    def rising(self) -> list[ThemeTrend]:
        return sorted((t for t in self.themes if t.is_rising), key=lambda t: -t.recent)

    @property
    def new(self) -> list[ThemeTrend]:
        return [t for t in self.themes if t.is_new]


def weekly_trends(run: ThemeRun, weeks: int = WEEKS, today: date | None = None) -> Trends:
    """Items per theme per week over the last weeks, ending with the current week."""
    end = week_start(today or utcnow())
    starts = [end - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    first = datetime.combine(starts[0], datetime.min.time()).replace(tzinfo=utcnow().tzinfo)
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)
    rows = db.session.execute(select(ThemeItem.theme_id, ThemeItem.created_at)
                              .where(ThemeItem.run_id == run.id, ThemeItem.created_at >= first))
    for theme_id, created in rows:
        n = (week_start(as_utc(created)) - starts[0]).days // 7
        if 0 <= n < weeks:
            counts[theme_id][n] += 1
    out = []
    for theme in run.themes:
        series = counts[theme.id] if theme.id in counts else [0] * weeks
        recent = sum(series[-RECENT_WEEKS:])
        before = sum(series[-2 * RECENT_WEEKS : -RECENT_WEEKS])
        out.append(ThemeTrend(theme, series, recent, before))
    return Trends(starts, out)


def chart_points(counts: list[int], width: int = 600, height: int = 120, top: int | None = None) -> str:
    """An SVG polyline's points for a weekly series (drawn on the page, no chart library)."""
    top = max(top if top is not None else max(counts, default=0), 1)
    if len(counts) < 2:
        return ""
    step = width / (len(counts) - 1)
    return " ".join(f"{n * step:.1f},{height - c / top * (height - 4) - 2:.1f}" for n, c in enumerate(counts))


# ---------------------------------------------------------------- digest
def is_subscribed(user: User) -> bool:
    """Whether the user gets the digest."""
    return db.session.get(DigestSubscription, user.id) is not None


def set_subscription(user: User, on: bool) -> bool:
    """Subscribe a staff member to the digest or stop it; returns the new state; flushes."""
    from community.errors import ValidationFailed

    if not user.is_staff:
        raise ValidationFailed(_("The insights digest is for staff."))
    row = db.session.get(DigestSubscription, user.id)
    if on and row is None:
        db.session.add(DigestSubscription(user_id=user.id))
    elif not on and row is not None:
        db.session.delete(row)
    db.session.flush()
    return on


def digest_text(trends: Trends) -> str:
    """The digest body: rising and new themes with their counts."""
    lines = []
    if trends.rising:
        lines.append(_("Rising themes (last %(n)s weeks against the %(n)s before):", n=RECENT_WEEKS))
        lines += [f"- {t.theme.label}: {t.recent} ({t.before})" for t in trends.rising[:10]]
    if trends.new:
        lines.append(_("New themes:"))
        lines += [f"- {t.theme.label}: {t.theme.size}" for t in trends.new[:10]]
    if not lines:
        lines.append(_("No rising or new themes this week."))
    return "\n".join(lines)


def send_digest(now: datetime | None = None) -> int:
    """Queue the digest for every subscribed staff member through the outbox; returns how many; flushes."""
    from community.insights.themes import latest_run
    from community.notifications.outbox import queue_emails

    run = latest_run()
    subs = list(db.session.scalars(select(DigestSubscription)))
    users = [u for u in db.session.scalars(select(User).where(User.id.in_([s.user_id for s in subs]))) if u.is_staff]
    if run is None or not users:
        return 0
    body = digest_text(weekly_trends(run))
    emails = queue_emails(users, "insights.digest", _l("Themes this week"), "/insights/trends", body)
    moment = now or utcnow()
    for sub in subs:
        sub.last_sent_at = moment
    db.session.flush()
    return len(emails)
