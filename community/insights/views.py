"""Insights pages for staff: themes, trends, duplicates across types, evidence on ideas, the scorecard, exports."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectMultipleField, StringField
from wtforms.validators import Optional

from community.access import staff_required
from community.extensions import db
from community.insights import bp, duplicates, evidence, scorecard, sources, themes, trends
from community.insights.jobs import start_theme_run
from community.models import Idea, JobRun
from community.viewhelpers import run_service


class ActionForm(FlaskForm):
    """Buttons that only post (CSRF token only)."""


class RunForm(FlaskForm):
    sources = SelectMultipleField(choices=[])
    period_days = IntegerField(validators=[Optional()])


class RenameForm(FlaskForm):
    name = StringField()


class MergeForm(FlaskForm):
    target = IntegerField()


class SplitForm(FlaskForm):
    name = StringField()


class EvidenceForm(FlaskForm):
    idea_id = IntegerField()
    source_type = HiddenField()
    source_id = HiddenField()
    note = StringField()
    next = HiddenField()


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


def _act(action, success: str | None, back: str):
    """Run a service call through the views' transaction boundary, flash the outcome and go back."""
    if run_service(action).ok and success:
        flash(success, "success")
    return redirect(back)


def _run_form() -> RunForm:
    form = RunForm()
    form.sources.choices = [(s.name, _(s.label)) for s in sources.sources(clusterable=True)]
    if not form.is_submitted():
        form.sources.data = [s for s in themes.DEFAULT_SOURCES if any(c[0] == s for c in form.sources.choices)]
    return form


@bp.get("/")
@staff_required
def index():
    run = themes.latest_run()
    pending = themes.pending_run()
    job = db.session.get(JobRun, pending.job_id) if pending is not None and pending.job_id else None
    trend = trends.weekly_trends(run) if run is not None else None
    return render_template("insights/themes.html", run=run, pending=pending, job=job, form=_run_form(),
                           trend=trend, dominant=themes.dominant_sentiment,
                           points_for=lambda counts: trends.chart_points(counts, 120, 24))


@bp.post("/themes/run")
@staff_required
def run_themes():
    form = _run_form()
    if not form.validate_on_submit():
        flash(_("Choose the sources and a period in days."), "error")
        return redirect(url_for("insights.index"))
    return _act(lambda: start_theme_run(current_user, form.sources.data, form.period_days.data),
                _("Themes are being found in the background."), url_for("insights.index"))


@bp.get("/themes/<int:theme_id>")
@staff_required
def theme(theme_id: int):
    item = db.get_or_404(themes.Theme, theme_id)
    items = themes.theme_items(item, limit=200)
    infos = sources.describe((i.source_type, i.source_id) for i in items)
    others = [t for t in item.run.themes if t.id != item.id]
    ideas = db.session.scalars(db.select(Idea).where(Idea.merged_into_id.is_(None)).order_by(Idea.title)).all()
    return render_template(
        "insights/theme.html", theme=item, items=items, infos=infos, others=others, ideas=ideas,
        mix=themes.sources_mix(item), rename_form=RenameForm(name=item.name or ""), merge_form=MergeForm(),
        split_form=SplitForm(), evidence_form=EvidenceForm(), labels={s.name: _(s.label) for s in sources.sources()},
        is_latest=themes.latest_run() is item.run, dominant=themes.dominant_sentiment(item),
    )


@bp.post("/themes/<int:theme_id>/rename")
@staff_required
def rename_theme(theme_id: int):
    item = db.get_or_404(themes.Theme, theme_id)
    form = RenameForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(lambda: themes.rename_theme(item, form.name.data, current_user), _("Theme renamed."),
                url_for("insights.theme", theme_id=theme_id))


@bp.post("/themes/<int:theme_id>/merge")
@staff_required
def merge_theme(theme_id: int):
    item = db.get_or_404(themes.Theme, theme_id)
    form = MergeForm()
    target = db.session.get(themes.Theme, form.target.data or 0) if form.validate_on_submit() else None
    if target is None:
        flash(_("Choose a theme to merge into."), "error")
        return redirect(url_for("insights.theme", theme_id=theme_id))
    if not run_service(lambda: themes.merge_themes(item, target, current_user)).ok:
        return redirect(url_for("insights.theme", theme_id=theme_id))
    flash(_("Themes merged."), "success")
    return redirect(url_for("insights.theme", theme_id=target.id))


@bp.post("/themes/<int:theme_id>/split")
@staff_required
def split_theme(theme_id: int):
    item = db.get_or_404(themes.Theme, theme_id)
    form = SplitForm()
    if not form.validate_on_submit():
        abort(400)
    chosen = [int(i) for i in request.form.getlist("items") if i.isdigit()]
    outcome = run_service(lambda: themes.split_theme(item, chosen, form.name.data, current_user))
    if outcome.value is None:
        return redirect(url_for("insights.theme", theme_id=theme_id))
    child = outcome.value
    flash(_("A new theme holds the chosen items."), "success")
    return redirect(url_for("insights.theme", theme_id=child.id))


def _csv(rows: list[dict[str, object]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=themes.EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        # A cell that starts like a formula is written as text, so spreadsheets do not run it.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()})
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/themes/<int:theme_id>/export.<fmt>")
@staff_required
def export_theme(theme_id: int, fmt: str):
    item = db.get_or_404(themes.Theme, theme_id)
    rows = themes.export_rows(item.run, item)
    if fmt == "csv":
        return _csv(rows, f"theme-{item.id}.csv")
    if fmt == "json":
        return jsonify({"theme": themes.theme_summary(item), "items": rows})
    abort(404)


@bp.get("/runs/<int:run_id>/export.<fmt>")
@staff_required
def export_run(run_id: int, fmt: str):
    run = db.get_or_404(themes.ThemeRun, run_id)
    rows = themes.export_rows(run)
    if fmt == "csv":
        return _csv(rows, f"themes-run-{run.id}.csv")
    if fmt == "json":
        return jsonify({"run_id": run.id, "themes": [themes.theme_summary(t) for t in run.themes], "items": rows})
    abort(404)


# ---------------------------------------------------------------- trends
@bp.get("/trends")
@staff_required
def trends_page():
    run = themes.latest_run()
    trend = trends.weekly_trends(run) if run is not None else None
    top = sorted(trend.themes, key=lambda t: -sum(t.counts))[:8] if trend else []
    peak = max((max(t.counts) for t in top), default=0)
    return render_template("insights/trends.html", run=run, trend=trend, top=top, peak=peak,
                           points=trends.chart_points, subscribed=trends.is_subscribed(current_user), form=ActionForm())


@bp.post("/trends/subscription")
@staff_required
def digest_subscription():
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    on = request.form.get("on") == "1"
    return _act(lambda: trends.set_subscription(current_user, on),
                _("You will get the weekly digest.") if on else _("The digest is stopped."), url_for("insights.trends_page"))


# ---------------------------------------------------------------- duplicates
@bp.get("/duplicates")
@staff_required
def duplicates_page():
    status = request.args.get("status", "suggested")
    status = status if status in ("suggested", "linked", "dismissed") else "suggested"
    labels = {s.name: _(s.label) for s in sources.sources()}
    return render_template("insights/duplicates.html", pairs=duplicates.open_pairs(status=status), status=status,
                           labels=labels, form=ActionForm())


@bp.post("/duplicates/<int:link_id>/<action>")
@staff_required
def duplicate_action(link_id: int, action: str):
    link = db.get_or_404(duplicates.ItemLink, link_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    calls = {
        "link": (lambda: duplicates.link_pair(link, current_user), _("Linked.")),
        "dismiss": (lambda: duplicates.dismiss_pair(link, current_user), _("Dismissed.")),
        "merge": (lambda: duplicates.merge_pair(link, current_user), _("Ideas merged.")),
    }
    if action not in calls:
        abort(404)
    call, message = calls[action]
    return _act(call, message, url_for("insights.duplicates_page"))


# ---------------------------------------------------------------- evidence
@bp.post("/evidence")
@staff_required
def add_evidence():
    form = EvidenceForm()
    back = _safe_next(url_for("insights.index"))
    if not form.validate_on_submit() or not form.idea_id.data:
        flash(_("Choose an idea."), "error")
        return redirect(back)
    idea = db.session.get(Idea, form.idea_id.data)
    if idea is None:
        flash(_("This idea does not exist."), "error")
        return redirect(back)
    return _act(lambda: evidence.attach_evidence(idea, form.source_type.data, form.source_id.data, current_user,
                                                 form.note.data),
                _("Attached to “%(title)s” as evidence.", title=idea.title), back)


@bp.post("/evidence/<int:evidence_id>/delete")
@staff_required
def remove_evidence(evidence_id: int):
    item = db.get_or_404(evidence.Evidence, evidence_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    idea_id = item.idea_id
    return _act(lambda: evidence.detach_evidence(item, current_user), _("Evidence removed."),
                url_for("ideas.detail", idea_id=idea_id))


# ---------------------------------------------------------------- scorecard
@bp.get("/scorecard")
@staff_required
def scorecard_page():
    card = scorecard.build()
    return render_template("insights/scorecard.html", card=card, points=trends.chart_points)


@bp.get("/scorecard/<key>")
@staff_required
def scorecard_items(key: str):
    metric = scorecard.metric(key)
    if metric is None:
        abort(404)
    return render_template("insights/scorecard_items.html", metric=metric, items=scorecard.items(key))


@bp.app_template_global()
def idea_evidence(idea: Idea) -> dict[str, object]:
    """What the idea page shows staff: evidence, the customers behind it, candidates from its theme."""
    return {"items": evidence.evidence_for(idea), "customers": evidence.customers_behind(idea),
            "candidates": themes.evidence_candidates(idea), "form": EvidenceForm(), "action_form": ActionForm(),
            "types": [(s.name, _(s.label)) for s in sources.sources() if s.name != "idea"]}
