"""Program health per build: active testers, reports by kind and severity over time, survey averages,
median time to triage and to fix, and which delivered ideas got feedback. Read-only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from sqlalchemy import select

from community.beta.services import surveys
from community.beta.services.programs import tester_ids
from community.extensions import db
from community.models import (
    BetaBuild,
    BetaProgram,
    BetaReport,
    Idea,
    ReportKind,
    Severity,
    Survey,
    SurveyResponse,
)
from community.models.base import as_utc

MAX_DAYS = 60


@dataclass
class Health:
    build: BetaBuild
    testers: int
    active_testers: list[int]  # user ids who reported or answered a survey on this build
    reports: list[BetaReport]
    by_kind: dict[str, list[int]]  # kind -> report ids
    by_severity: dict[str, list[int]]
    days: list[date]
    per_day: dict[date, dict[str, list[int]]]  # day -> kind -> report ids
    median_triage_hours: float | None
    triaged_ids: list[int]
    median_fix_hours: float | None
    fixed_ids: list[int]
    peak: int = 1  # the busiest day's report count (the chart's scale)
    survey_averages: list[tuple[Survey, str, float | None, int]] = field(default_factory=list)
    coverage: list[tuple[Idea, list[int]]] = field(default_factory=list)  # delivered idea -> report ids


def _hours(start: datetime, end: datetime) -> float:
    return (as_utc(end) - as_utc(start)).total_seconds() / 3600


def build_health(program: BetaProgram, build: BetaBuild) -> Health:
    """The figures of one build, each with the ids of the items behind it."""
    reports = list(db.session.scalars(select(BetaReport).where(BetaReport.build_id == build.id)
                                      .order_by(BetaReport.created_at)))
    live = [r for r in reports if r.merged_into_id is None]
    by_kind = {k.value: [r.id for r in live if r.kind is k] for k in ReportKind}
    by_severity = {s.value: [r.id for r in live if r.severity is s] for s in Severity}
    survey_list = surveys.surveys_for(build)
    responders = set(db.session.scalars(select(SurveyResponse.user_id).where(
        SurveyResponse.survey_id.in_([s.id for s in survey_list])))) if survey_list else set()
    active = sorted({r.reporter_id for r in reports if r.reporter_id} | responders)
    start = as_utc(build.released_at).date()
    last = max([as_utc(r.created_at).date() for r in reports] + [start])
    days = [start + timedelta(days=i) for i in range(min((last - start).days + 1, MAX_DAYS))]
    per_day: dict[date, dict[str, list[int]]] = {d: {k.value: [] for k in ReportKind} for d in days}
    for r in live:
        d = as_utc(r.created_at).date()
        if d in per_day:
            per_day[d][r.kind.value].append(r.id)
    triaged = [(r, r.triaged_at) for r in live if r.triaged_at is not None]
    fixed = [(r, r.fixed_at) for r in live if r.fixed_at is not None]
    averages = []
    for s in survey_list:
        _n, per_question = surveys.results(s)
        for qr in per_question:
            if qr.question.kind.value == "rating":
                averages.append((s, qr.question.prompt, qr.average, qr.answered))
    coverage = [(idea, [r.id for r in live if r.idea_id == idea.id]) for idea in program.ideas]
    return Health(
        build=build, testers=len(tester_ids(program.id)), active_testers=active, reports=live,
        by_kind=by_kind, by_severity=by_severity, days=days, per_day=per_day,
        median_triage_hours=median([_hours(r.created_at, at) for r, at in triaged]) if triaged else None,
        triaged_ids=[r.id for r, _at in triaged],
        median_fix_hours=median([_hours(r.created_at, at) for r, at in fixed]) if fixed else None,
        fixed_ids=[r.id for r, _at in fixed], survey_averages=averages,
        peak=max([sum(len(v) for v in per_day[d].values()) for d in days] + [1]), coverage=coverage,
    )
