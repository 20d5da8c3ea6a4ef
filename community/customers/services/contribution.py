"""Contribution and reputation (public): points for what a customer gave the community.

Each rule is a grouped query returning (user id, count); points = count × the rule's points. A
feature this package must not import (beta's confirmed reports) adds its rule with
register_contribution_rule at start-up.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from flask_babel import gettext as _
from sqlalchemy import Select, and_, cast, func, or_, select, String

from community.extensions import db
from community.models import (
    Article, ArticleStatus, ChatMessage, Idea, IdeaStatus, Reply, Role, Thread, User,
)


@dataclass(frozen=True)
class ContributionRule:
    key: str
    label: Callable[[], str]
    points: int
    # A statement selecting (user_id, count) grouped by user.
    counts: Callable[[], Select[Any]]


CONTRIBUTION_RULES: dict[str, ContributionRule] = {}


def register_contribution_rule(rule: ContributionRule | None = None, *, key: str = "",
                               label: Callable[[], str] | None = None, points: int = 0,
                               counts: Callable[[], Select[Any]] | None = None) -> None:
    """Let a feature award points (e.g. beta: confirmed bug reports), by a rule or by its plain parts
    (so the feature need not import this package: the app wiring connects the two)."""
    if rule is None:
        if not key or label is None or counts is None:
            raise TypeError("a contribution rule needs key, label, points and counts")
        rule = ContributionRule(key, label, points, counts)
    CONTRIBUTION_RULES[rule.key] = rule


def _accepted_answers() -> Select[Any]:
    return (select(Reply.author_id, func.count()).join(Thread, Thread.accepted_reply_id == Reply.id)
            .where(Reply.author_id.is_not(None), Reply.deleted_at.is_(None), Thread.deleted_at.is_(None))
            .group_by(Reply.author_id))


def _shipped_ideas() -> Select[Any]:
    return (select(Idea.author_id, func.count()).where(Idea.status == IdeaStatus.shipped, Idea.author_id.is_not(None),
                                                       Idea.merged_into_id.is_(None)).group_by(Idea.author_id))


def _promoted_answers() -> Select[Any]:
    return (select(Article.credited_user_id, func.count())
            .where(Article.credited_user_id.is_not(None), Article.status == ArticleStatus.published)
            .group_by(Article.credited_user_id))


def _bot_citations() -> Select[Any]:
    # The bot cites an accepted answer as ("answer", thread id), or the article it was promoted into.
    answer_author = (select(Reply.author_id).join(Thread, Thread.accepted_reply_id == Reply.id)
                     .where(cast(Thread.id, String) == ChatMessage.source_id).scalar_subquery())
    article_author = (select(Article.credited_user_id).where(Article.id == ChatMessage.article_id)
                      .scalar_subquery())
    who = func.coalesce(answer_author, article_author)
    cited = (select(who.label("user_id")).where(
        ChatMessage.role == "bot", ChatMessage.reply_kind == "answer",
        or_(ChatMessage.source_type == "answer",
            and_(ChatMessage.source_type == "article", ChatMessage.article_id.is_not(None)))).subquery())
    return (select(cited.c.user_id, func.count()).where(cited.c.user_id.is_not(None))
            .group_by(cited.c.user_id))


for _rule in (
    ContributionRule("accepted_answers", lambda: _("Accepted answer in the forum"), 10, _accepted_answers),
    ContributionRule("shipped_ideas", lambda: _("Your idea shipped"), 15, _shipped_ideas),
    ContributionRule("promoted_answers", lambda: _("Your answer became a help-center article"), 20, _promoted_answers),
    ContributionRule("bot_citations", lambda: _("The support bot cited your answer"), 2, _bot_citations),
):
    register_contribution_rule(_rule)


@dataclass
class Contribution:
    user: User
    points: int = 0
    breakdown: dict[str, int] = field(default_factory=dict)  # rule key -> count


def _counts(user_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    per_user: dict[int, dict[str, int]] = defaultdict(dict)
    for rule in CONTRIBUTION_RULES.values():
        stmt = rule.counts()
        if user_ids is not None:
            sub = stmt.subquery()
            who, count = list(sub.c)[:2]
            stmt = select(who, count).where(who.in_(user_ids))
        for uid, n in db.session.execute(stmt).all():
            if uid is not None:
                per_user[int(uid)][rule.key] = int(n)
    return per_user


def _points(breakdown: dict[str, int]) -> int:
    return sum(CONTRIBUTION_RULES[k].points * n for k, n in breakdown.items() if k in CONTRIBUTION_RULES)


def contribution_of(user: User) -> Contribution:
    """One person's points and what earned them."""
    breakdown = _counts([user.id]).get(user.id, {})
    return Contribution(user, _points(breakdown), breakdown)


def top_contributors(limit: int = 25) -> list[Contribution]:
    """Customers with the most points (deleted accounts and staff excluded), best first."""
    counts = _counts()
    ranked = sorted(((uid, _points(b)) for uid, b in counts.items()), key=lambda r: (-r[1], r[0]))
    ids = [uid for uid, pts in ranked if pts > 0]
    users = {u.id: u for u in db.session.scalars(select(User).where(
        User.id.in_(ids), User.role == Role.customer, User.deleted_at.is_(None)))} if ids else {}
    out = [Contribution(users[uid], pts, counts[uid]) for uid, pts in ranked if uid in users]
    return out[:limit]


def rules() -> list[ContributionRule]:
    """The point rules, as the top-contributors page lists them."""
    return sorted(CONTRIBUTION_RULES.values(), key=lambda r: -r.points)
