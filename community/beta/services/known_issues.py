"""Known issues: a confirmed report published with public text, a workaround, affected builds and its fix.

Every known issue is indexed as a bot source ("beta_issue"): public ones for everyone (the bot's
model serves public sources), testers-only ones are found for the program's testers by
match_for_tester, which the bot asks first so a tester hears about their own build's issue before anything else.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community import search
from community.beta.services import (
    MAX_TEXT,
    MAX_TITLE,
    as_id,
    current_build_for,
    is_staff,
    is_tester,
    optional_text,
    require_staff,
    required_text,
)
from community.errors import Conflict, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    BetaBuild,
    BetaMembership,
    BetaProgram,
    BetaReport,
    KnownIssue,
    MembershipStatus,
    ReportState,
    ReportSupporter,
    User,
)
from community.notifications.services import notify

SOURCE_TYPE = "beta_issue"
PUBLISHABLE = (ReportState.confirmed, ReportState.in_progress, ReportState.fixed)
# Dense cosine from which a tester's chat message is "about" a known issue of their program. A question
# and an issue's title + text are a looser pair than two phrasings of one question (DUPLICATE_THRESHOLD,
# 0.72): the same bar ideas use to find articles about a shipped feature (ideas.REVIEW_THRESHOLD).
MATCH_THRESHOLD = 0.55
# A known issue that names the tester's current build wins over one of an older build at nearly equal scores.
CURRENT_BUILD_BONUS = 0.05


def known_issue_url(issue: KnownIssue | int) -> str:
    return f"/beta/known-issues/{issue if isinstance(issue, int) else issue.id}"


def fix_status(issue: KnownIssue) -> str:
    """Where the fix stands, in words: fixed in build N, or being worked on."""
    if issue.fixed_in_build is not None:
        return str(_("Fixed in build %(version)s.", version=issue.fixed_in_build.version))
    return str(_("Not fixed yet: our team is working on it."))


def _index(issue: KnownIssue) -> None:
    parts = [issue.body]
    if issue.workaround:
        parts.append(_("Workaround: %(text)s", text=issue.workaround))
    parts.append(fix_status(issue))
    search.index_document(
        SOURCE_TYPE, issue.id, title=issue.title, body="\n\n".join(p for p in parts if p),
        meta={"visibility": "public" if issue.public else "testers", "program_id": issue.program_id,
              "url": known_issue_url(issue)},
    )


def _builds(program_id: int, build_ids: Iterable[object]) -> list[BetaBuild]:
    ids = []
    for value in build_ids:
        number = as_id(value)
        if number is None:
            message = _("Affected builds must be build numbers.")
            raise ValidationFailed(message, {"build_ids": [message]})
        ids.append(number)
    builds = list(db.session.scalars(select(BetaBuild).where(BetaBuild.id.in_(ids)))) if ids else []
    if len(builds) != len(set(ids)) or any(b.program_id != program_id for b in builds):
        message = _("Affected builds must be builds of this program.")
        raise ValidationFailed(message, {"build_ids": [message]})
    return builds


def publish(staff: User, report: BetaReport, *, title: object, body: object, workaround: object = "",
            public: bool = False, build_ids: Iterable[object] | None = None) -> KnownIssue:
    """Publish a confirmed report as a known issue (or update it); its reporters are told."""
    require_staff(staff)
    if report.state not in PUBLISHABLE:
        raise Conflict(_("Confirm the report before publishing it as a known issue."))
    issue = db.session.scalar(select(KnownIssue).where(KnownIssue.report_id == report.id))
    fresh = issue is None
    if issue is None:
        issue = KnownIssue(program_id=report.program_id, report_id=report.id)
        db.session.add(issue)
    _fill(issue, title, body, workaround, public,
          build_ids if build_ids is not None else [report.build_id])
    issue.fixed_in_build_id = report.fixed_in_build_id
    db.session.flush()
    db.session.refresh(issue)
    _index(issue)
    if fresh:
        supporters = list(db.session.scalars(select(ReportSupporter.user_id).where(
            ReportSupporter.report_id == report.id)))
        notify(([report.reporter_id] if report.reporter_id else []) + supporters, "beta.known_issue",
               _l("Your report is now a known issue: “%(title)s”", title=issue.title),
               link=known_issue_url(issue), actor=staff)
    return issue


def _fill(issue: KnownIssue, title: object, body: object, workaround: object, public: bool,
          build_ids: Iterable[object]) -> None:
    issue.title = required_text(title, "title", _("Title"), MAX_TITLE)
    issue.body = required_text(body, "body", _("What testers see"), MAX_TEXT)
    issue.workaround = optional_text(workaround, "workaround", _("Workaround"), MAX_TEXT)
    issue.public = bool(public)
    issue.builds = _builds(issue.program_id, build_ids)


def add_known_issue(staff: User, program: BetaProgram, *, title: object, body: object, workaround: object = "",
                    public: bool = True, build_ids: Iterable[object] = (), seed_key: str | None = None) -> KnownIssue:
    """A known issue written by staff without a report (imported, or found in-house)."""
    require_staff(staff)
    issue = KnownIssue(program_id=program.id, seed_key=seed_key)
    db.session.add(issue)
    _fill(issue, title, body, workaround, public, build_ids)
    db.session.flush()
    db.session.refresh(issue)
    _index(issue)
    return issue


def mark_fixed(report: BetaReport, build: BetaBuild) -> None:
    """A report's known issue follows the report's fix (its text for the bot says so at once)."""
    issue = db.session.scalar(select(KnownIssue).where(KnownIssue.report_id == report.id))
    if issue is None:
        return
    issue.fixed_in_build_id = build.id
    db.session.flush()
    db.session.refresh(issue)
    _index(issue)


def can_see(issue: KnownIssue, user: User | None) -> bool:
    """Public issues for everyone; the others for staff and the program's testers."""
    return issue.public or is_staff(user) or is_tester(issue.program_id, user)


def get_visible(issue_id: int, user: User | None) -> KnownIssue:
    """A known issue the user may read, or NotFound."""
    issue = db.session.get(KnownIssue, issue_id)
    if issue is None or not can_see(issue, user):
        raise NotFound(_("This known issue does not exist."))
    return issue


def for_program(program: BetaProgram, user: User | None) -> list[KnownIssue]:
    """The program's known issues the user may read, open ones first."""
    query = select(KnownIssue).where(KnownIssue.program_id == program.id)
    if not (is_staff(user) or is_tester(program.id, user)):
        query = query.where(KnownIssue.public.is_(True))
    issues = list(db.session.scalars(query.order_by(KnownIssue.created_at.desc(), KnownIssue.id.desc())))
    return sorted(issues, key=lambda i: i.fixed_in_build_id is not None)


def for_report(report: BetaReport) -> KnownIssue | None:
    """The known issue published from the report, if any."""
    return db.session.scalar(select(KnownIssue).where(KnownIssue.report_id == report.id))


@dataclass(frozen=True)
class KnownIssueMatch:
    issue: KnownIssue
    score: float
    build: BetaBuild | None  # the tester's current build
    affects_build: bool


def match_for_tester(user: User | None, text: str) -> KnownIssueMatch | None:
    """The known issue (public or testers-only) of the user's programs that the message is about, if any.

    Only testers: everyone else reaches public known issues through the bot's usual sources.
    """
    if user is None or not getattr(user, "is_authenticated", True) or user.id is None or not text.strip():
        return None
    program_ids = list(db.session.scalars(select(BetaMembership.program_id).where(
        BetaMembership.user_id == user.id, BetaMembership.status == MembershipStatus.accepted)))
    if not program_ids:
        return None
    build = current_build_for(user)
    best: KnownIssueMatch | None = None
    best_rank = -1.0
    for program_id in program_ids:
        for m in search.similar(text, source_types=[SOURCE_TYPE], k=3, min_score=MATCH_THRESHOLD,
                                filters={"program_id": program_id}):
            issue = db.session.get(KnownIssue, int(m.source_id))
            if issue is None:
                continue
            affects = build is not None and any(b.id == build.id for b in issue.builds)
            rank = m.score + (CURRENT_BUILD_BONUS if affects else 0.0)
            if rank > best_rank:
                best, best_rank = KnownIssueMatch(issue, m.score, build, affects), rank
    return best
