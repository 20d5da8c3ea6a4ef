"""Feedback reports and their triage: file (with environment and attachments), "me too", states with
the reporters told of each change, comments, duplicate groups by meaning, merge, link or promote to an idea."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from community import search
from community.beta.services import known_issues, uploads
from community.beta.services import (
    MAX_COMMENT,
    MAX_SHORT,
    MAX_TEXT,
    MAX_TITLE,
    as_id,
    choice,
    is_tester,
    optional_text,
    report_url,
    require_staff,
    required_text,
)
from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    BetaAttachment,
    BetaBuild,
    BetaReport,
    Idea,
    ReportComment,
    ReportEvent,
    ReportKind,
    ReportState,
    ReportSupporter,
    Severity,
    TesterEnvironment,
    User,
    index_entries,
    utcnow,
)
from community.notifications.services import notify

SOURCE_TYPE = "beta_report"
OPEN_STATES = (ReportState.new, ReportState.confirmed, ReportState.in_progress)
STATE_ORDER = (ReportState.new, ReportState.confirmed, ReportState.in_progress, ReportState.fixed,
               ReportState.closed, ReportState.wont_fix)


def state_label(state: ReportState | str) -> str:
    """The translated name of a report state."""
    labels: dict[str, str] = {
        "new": _("New"), "confirmed": _("Confirmed"), "in_progress": _("In progress"), "fixed": _("Fixed"),
        "closed": _("Closed"), "wont_fix": _("Won't fix"),
    }
    return labels[state.value if isinstance(state, ReportState) else state]


def kind_label(kind: ReportKind | str) -> str:
    """The translated name of a report kind."""
    labels: dict[str, str] = {"bug": _("Bug"), "usability": _("Usability"), "suggestion": _("Suggestion"),
                              "praise": _("Praise")}
    return labels[kind.value if isinstance(kind, ReportKind) else kind]


def severity_label(severity: Severity | str | None) -> str:
    """The translated name of a severity."""
    if severity is None:
        return str(_("None"))
    labels: dict[str, str] = {"critical": _("Critical"), "major": _("Major"), "minor": _("Minor"),
                              "trivial": _("Trivial")}
    return labels[severity.value if isinstance(severity, Severity) else severity]


# ---------------------------------------------------------------- environment

def environment_of(user: User) -> TesterEnvironment | None:
    """The environment the tester last reported with."""
    return db.session.get(TesterEnvironment, user.id)


def _remember_environment(user: User, os_name: str, device: str, app_version: str) -> None:
    row = db.session.get(TesterEnvironment, user.id) or TesterEnvironment(user_id=user.id)
    row.os, row.device, row.app_version = os_name, device, app_version
    db.session.add(row)


# ---------------------------------------------------------------- file

def _index(report: BetaReport) -> None:
    body = "\n\n".join(p for p in (report.steps, report.expected, report.actual) if p)
    search.index_document(SOURCE_TYPE, report.id, title=report.title, body=body,
                          meta={"visibility": "staff", "program_id": report.program_id})


def file_report(user: User, build: BetaBuild, *, kind: object, severity: object = None, title: object,
                steps: object = "", expected: object = "", actual: object = "", os_name: object = "",
                device: object = "", app_version: object = "",
                attachments: list[uploads.Upload] | None = None) -> BetaReport:
    """A tester files a report against a build; files are checked before anything is stored."""
    if not (user.is_staff or is_tester(build.program_id, user)):
        raise Forbidden(_("Only the program's testers can report on its builds."))
    kind_value = choice(kind, ReportKind, "kind", _("kind"))
    severity_value = None
    if severity not in (None, ""):
        severity_value = choice(severity, Severity, "severity", _("severity"))
    elif kind_value is ReportKind.bug:
        message = _("Say how bad the bug is.")
        raise ValidationFailed(message, {"severity": [message]})
    fields = {
        "title": required_text(title, "title", _("Title"), MAX_TITLE),
        "steps": optional_text(steps, "steps", _("Steps to reproduce"), MAX_TEXT),
        "expected": optional_text(expected, "expected", _("Expected"), MAX_TEXT),
        "actual": optional_text(actual, "actual", _("What happened"), MAX_TEXT),
        "os": optional_text(os_name, "os", _("Operating system"), MAX_SHORT),
        "device": optional_text(device, "device", _("Device"), MAX_SHORT),
        "app_version": optional_text(app_version, "app_version", _("App version"), 40),
    }
    checked = uploads.check_files(attachments or [])
    report = BetaReport(program_id=build.program_id, build_id=build.id, reporter_id=user.id, kind=kind_value,
                        severity=severity_value, state=ReportState.new, **fields)
    db.session.add(report)
    db.session.flush()
    db.session.add(ReportEvent(report_id=report.id, event="filed", to_state=ReportState.new.value, by_id=user.id))
    _remember_environment(user, fields["os"], fields["device"], fields["app_version"])
    uploads.store(report, user, checked)
    _index(report)
    return report


def add_attachments(user: User, report: BetaReport, files: list[uploads.Upload]) -> list[BetaAttachment]:
    """The reporter or staff add files to a report."""
    if not (user.is_staff or user.id == report.reporter_id):
        raise Forbidden(_("Only the reporter and staff can add files."))
    existing = len(report.attachments)
    checked = uploads.check_files(files)
    if existing + len(checked) > uploads.MAX_FILES:
        message = _("A report can have at most %(n)d files.", n=uploads.MAX_FILES)
        raise ValidationFailed(message, {"attachments": [message]})
    return uploads.store(report, user, checked)


# ---------------------------------------------------------------- me too, comments

def _recount(report: BetaReport) -> None:
    count = sa.select(func.count()).select_from(ReportSupporter).where(ReportSupporter.report_id == report.id)
    db.session.execute(update(BetaReport).where(BetaReport.id == report.id)
                       .values(me_too_count=count.scalar_subquery(), updated_at=BetaReport.updated_at)
                       .execution_options(synchronize_session=False))
    db.session.expire(report, ["me_too_count"])


def me_too(user: User, report: BetaReport) -> bool:
    """A tester of the program says they have the same problem; True when newly counted."""
    if not (user.is_staff or is_tester(report.program_id, user)):
        raise Forbidden(_("Only the program's testers can do this."))
    report = resolve_merged(report)
    if user.id == report.reporter_id:
        return False
    if db.session.scalar(select(ReportSupporter.id).where(ReportSupporter.report_id == report.id,
                                                          ReportSupporter.user_id == user.id)) is not None:
        return False
    db.session.add(ReportSupporter(report_id=report.id, user_id=user.id, via="me_too"))
    db.session.flush()
    _recount(report)
    return True


def reporters(report: BetaReport) -> list[int]:
    """Everyone who reported this: the reporter and the supporters (me too, merged duplicates)."""
    ids = list(db.session.scalars(select(ReportSupporter.user_id).where(ReportSupporter.report_id == report.id)))
    return ([report.reporter_id] if report.reporter_id else []) + ids


def add_comment(user: User, report: BetaReport, body: object) -> ReportComment:
    """Staff and the report's testers talk about it; the others on the report are told."""
    text = required_text(body, "body", _("Comment"), MAX_COMMENT)
    comment = ReportComment(report_id=report.id, author_id=user.id, body=text)
    db.session.add(comment)
    db.session.flush()
    notify(reporters(report) + ([] if user.is_staff else _assignees(report)), "beta.comment",
           _l("New comment on “%(title)s”", title=report.title), link=report_url(report) + f"#comment-{comment.id}",
           actor=user)
    return comment


def _assignees(report: BetaReport) -> list[int]:
    # Staff who moved the report before follow its conversation.
    return [i for i in db.session.scalars(select(ReportEvent.by_id).where(
        ReportEvent.report_id == report.id, ReportEvent.event == "state").distinct()) if i is not None]


def comments(report: BetaReport) -> list[ReportComment]:
    """The report's comments, oldest first."""
    return list(db.session.scalars(select(ReportComment).where(ReportComment.report_id == report.id)
                                   .order_by(ReportComment.created_at, ReportComment.id)))


def history(report: BetaReport) -> list[ReportEvent]:
    """The report's state changes, oldest first."""
    return list(db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                   .order_by(ReportEvent.at, ReportEvent.id)))


# ---------------------------------------------------------------- triage

def resolve_merged(report: BetaReport) -> BetaReport:
    """Follow merges to the report that carries on."""
    seen = {report.id}
    while report.merged_into_id is not None and report.merged_into_id not in seen:
        seen.add(report.merged_into_id)
        report = db.session.get(BetaReport, report.merged_into_id) or report
    return report


def change_state(staff: User, report: BetaReport, state: object, *, fixed_in_build_id: object = None,
                 note: object = "") -> BetaReport:
    """Move a report on the board; every reporter is told. "Fixed" names the build that fixes it."""
    require_staff(staff)
    if report.merged_into_id is not None:
        raise Conflict(_("This report was merged into #%(id)d; triage that one.", id=report.merged_into_id))
    new_state = choice(state, ReportState, "state", _("state"))
    text = optional_text(note, "note", _("Note"), 2000)
    fixed_build = None
    if new_state is ReportState.fixed:
        build_id = as_id(fixed_in_build_id)
        fixed_build = db.session.get(BetaBuild, build_id) if build_id is not None else None
        if fixed_build is None or fixed_build.program_id != report.program_id:
            message = _("Choose the build of this program that fixes it.")
            raise ValidationFailed(message, {"fixed_in_build_id": [message]})
    if new_state is report.state and fixed_build is None:
        return report
    old = report.state
    report.state = new_state
    now = utcnow()
    if old is ReportState.new and new_state is not ReportState.new and report.triaged_at is None:
        report.triaged_at = now
    if fixed_build is not None:
        report.fixed_in_build_id, report.fixed_at = fixed_build.id, now
    db.session.add(ReportEvent(report_id=report.id, event="state", from_state=old.value, to_state=new_state.value,
                               note=text or None, by_id=staff.id, at=now))
    db.session.flush()
    if fixed_build is not None:
        known_issues.mark_fixed(report, fixed_build)
    title = (_("“%(title)s” is fixed in build %(version)s", title=report.title, version=fixed_build.version)
             if fixed_build is not None else
             _("Your report “%(title)s” is now %(state)s", title=report.title, state=state_label(new_state)))
    notify(reporters(report), "beta.report", title, link=report_url(report), body=text, actor=staff)
    return report


def merge(staff: User, duplicate: BetaReport, target: BetaReport) -> BetaReport:
    """Fold a duplicate into target: its reporter and "me too"s count on target; the duplicate closes."""
    require_staff(staff)
    target = resolve_merged(target)
    if duplicate.id == target.id:
        raise ValidationFailed(_("A report cannot be merged into itself."), {"target_id": [_("Same report.")]})
    if duplicate.program_id != target.program_id:
        raise ValidationFailed(_("Only reports of the same program can be merged."),
                               {"target_id": [_("Another program's report.")]})
    if duplicate.merged_into_id is not None:
        raise Conflict(_("This report was already merged."))
    carried = [uid for uid in reporters(duplicate) if uid != target.reporter_id]
    have = set(db.session.scalars(select(ReportSupporter.user_id).where(ReportSupporter.report_id == target.id)))
    for uid in dict.fromkeys(carried):
        if uid not in have:
            db.session.add(ReportSupporter(report_id=target.id, user_id=uid, via="merged"))
    old = duplicate.state
    duplicate.merged_into_id, duplicate.state = target.id, ReportState.closed
    now = utcnow()
    db.session.add(ReportEvent(report_id=duplicate.id, event="merged", from_state=old.value,
                               to_state=ReportState.closed.value, note=f"#{target.id}", by_id=staff.id, at=now))
    db.session.add(ReportEvent(report_id=target.id, event="merged", from_state=target.state.value,
                               to_state=target.state.value, note=f"#{duplicate.id}", by_id=staff.id, at=now))
    db.session.flush()
    _recount(target)
    search.remove_document(SOURCE_TYPE, duplicate.id)
    notify(reporters(duplicate), "beta.report",
           _l("Your report “%(title)s” was merged into “%(target)s”", title=duplicate.title, target=target.title),
           link=report_url(target), body=_l("You'll hear about every change to it."), actor=staff)
    return target


@dataclass(frozen=True)
class DuplicateGroup:
    primary: BetaReport
    duplicates: list[tuple[BetaReport, float]]


def duplicate_groups(program_id: int, threshold: float = search.DUPLICATE_THRESHOLD) -> list[DuplicateGroup]:
    """Open reports of a program that mean the same, grouped: the oldest first, the rest with their cosine.

    Reads the title vectors already stored in the index table (no model call on view); titles are
    short texts, the pairs DUPLICATE_THRESHOLD was measured on.
    """
    reports = {r.id: r for r in db.session.scalars(select(BetaReport).where(
        BetaReport.program_id == program_id, BetaReport.merged_into_id.is_(None),
        BetaReport.state.in_(OPEN_STATES)))}
    if len(reports) < 2:
        return []
    t = index_entries.c
    rows = db.session.execute(sa.select(t.source_id, t.vector).where(
        t.source_type == SOURCE_TYPE, t.chunk_key == "title", t.deleted.is_(False),
        t.source_id.in_([str(i) for i in reports]))).all()
    ids = [int(r.source_id) for r in rows if r.vector is not None]
    if len(ids) < 2:
        return []
    vectors = np.stack([np.frombuffer(r.vector, dtype="<f4") for r in rows if r.vector is not None])
    sims = vectors @ vectors.T
    order = sorted(range(len(ids)), key=lambda i: (reports[ids[i]].created_at, ids[i]))
    taken: set[int] = set()
    groups: list[DuplicateGroup] = []
    for i in order:
        if i in taken:
            continue
        members = [(j, float(sims[i, j])) for j in order if j != i and j not in taken and sims[i, j] >= threshold]
        if members:
            taken.update([i, *(j for j, _s in members)])
            groups.append(DuplicateGroup(reports[ids[i]], [(reports[ids[j]], s) for j, s in members]))
    return groups


def board(program_id: int, *, build_id: int | None = None, kind: str | None = None, severity: str | None = None,
          ids: list[int] | None = None) -> dict[ReportState, list[BetaReport]]:
    """Reports (not merged) by state for the staff board, optionally filtered."""
    query = select(BetaReport).where(BetaReport.program_id == program_id, BetaReport.merged_into_id.is_(None))
    if build_id is not None:
        query = query.where(BetaReport.build_id == build_id)
    if kind:
        query = query.where(BetaReport.kind == choice(kind, ReportKind, "kind", _("kind")))
    if severity:
        query = query.where(BetaReport.severity == choice(severity, Severity, "severity", _("severity")))
    if ids is not None:
        query = query.where(BetaReport.id.in_(ids))
    columns: dict[ReportState, list[BetaReport]] = {s: [] for s in STATE_ORDER}
    for report in db.session.scalars(query.order_by(BetaReport.me_too_count.desc(), BetaReport.created_at)):
        columns[report.state].append(report)
    return columns


def reports_of(user: User, program_id: int | None = None) -> list[BetaReport]:
    """The user's own reports, newest first."""
    query = select(BetaReport).where(BetaReport.reporter_id == user.id)
    if program_id is not None:
        query = query.where(BetaReport.program_id == program_id)
    return list(db.session.scalars(query.order_by(BetaReport.created_at.desc())))


def similar_open(program_id: int, text: str, k: int = 5) -> list[tuple[BetaReport, float]]:
    """Open reports of the program that mean what text says (a tester filing checks for "me too")."""
    matches = search.similar(text, source_types=[SOURCE_TYPE], k=k, min_score=search.DUPLICATE_THRESHOLD,
                             filters={"program_id": program_id})
    out = []
    for m in matches:
        report = db.session.get(BetaReport, int(m.source_id))
        if report is not None and report.merged_into_id is None and report.state in OPEN_STATES:
            out.append((report, m.score))
    return out


# ---------------------------------------------------------------- ideas

def link_idea(staff: User, report: BetaReport, idea_id: object) -> BetaReport:
    """Link a report to the idea it is about (or unlink with an empty id)."""
    require_staff(staff)
    if idea_id in (None, ""):
        report.idea_id = None
    else:
        number = as_id(idea_id)
        idea = db.session.get(Idea, number) if number is not None else None
        if idea is None:
            message = _("No idea has this number.")
            raise ValidationFailed(message, {"idea_id": [message]})
        report.idea_id = idea.id
    db.session.flush()
    return report


def promote_to_idea(staff: User, report: BetaReport) -> Idea:
    """Turn a suggestion into an idea others can vote on, credited to its reporter, and link them."""
    require_staff(staff)
    if report.idea_id is not None:
        raise Conflict(_("This report is already linked to an idea."))
    from community.ideas import services as ideas

    author = report.reporter or staff
    body = "\n\n".join(p for p in (report.actual, report.expected) if p) or report.title
    idea = ideas.submit_idea(author, report.title[: ideas.MAX_TITLE], body[: ideas.MAX_BODY])
    report.idea_id = idea.id
    db.session.flush()
    notify(reporters(report), "beta.report", _l("Your report “%(title)s” is now an idea", title=report.title),
           link=ideas.idea_url(idea), actor=staff)
    return idea


def get_report(report_id: int) -> BetaReport:
    """A report by id or NotFound."""
    report = db.session.get(BetaReport, report_id)
    if report is None:
        raise NotFound(_("This report does not exist."))
    return report
