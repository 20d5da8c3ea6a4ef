"""Staff pages about customers: the list, a customer's 360° page, the CRM import, segment rules, the access log."""
from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from community.access import admin_required, staff_required
from community.customers import bp, jobs
from community.customers.services import contribution, privacy, profiles, segments, timeline
from community.customers.forms import CrmImportForm, RecomputeForm, SegmentRulesForm
from community.errors import DomainError
from community.extensions import db
from community.jobs import get_run, start_job
from community.models import JobRun
from community.viewhelpers import commit_or_rollback, form_status, page_arg, run_service


@bp.url_value_preprocessor
def _crm_upload_limit(endpoint: str | None, _values: dict | None) -> None:
    # Runs before any before_request (CSRF reads the form there), so the larger limit applies in time.
    if endpoint == "customers.crm_import":
        request.max_content_length = current_app.config["COKNOW_MAX_CRM_UPLOAD_BYTES"]


@bp.app_template_filter("segment_label")
def _segment_label(value: str | None) -> str:
    return segments.segment_label(value)


@bp.get("/")
@staff_required
def index():
    args: dict[str, str | None] = {k: request.args.get(k) or None for k in ("q", "segment", "plan", "company", "activity")}
    sort = request.args.get("sort", "value")
    try:
        result = profiles.list_customers(args["q"], args["segment"], args["plan"], args["company"], args["activity"],
                                         sort=sort, page=page_arg())
    except DomainError as error:
        flash(error.message, "error")
        args, sort = dict.fromkeys(args), "value"
        result = profiles.list_customers(page=1)
    return render_template("customers/index.html", result=result, args=args, sort=sort, sorts=profiles.SORTS,
                           plans=profiles.plans(), segment_order=[s.value for s in segments.SEGMENT_ORDER],
                           counts=segments.segment_counts())


@bp.get("/<int:user_id>")
@staff_required
def detail(user_id: int):
    customer, profile = profiles.get_customer(user_id)
    feature = request.args.get("feature") or None
    page = timeline.customer_timeline(customer.id, page_arg(), feature=feature)
    # Looking is what the privacy log records, so this read writes one log row (and nothing else).
    commit_or_rollback(lambda: privacy.log_view(current_user, customer, "page"))
    return render_template("customers/detail.html", customer=customer, profile=profile, timeline=page,
                           feature=feature, rules=segments.rule_lines(), weights=segments.weights(),
                           contribution=contribution.contribution_of(customer),
                           contribution_rules={r.key: r for r in contribution.rules()})


@bp.route("/import", methods=["GET", "POST"])
@staff_required
def crm_import():
    form = CrmImportForm()
    if form.validate_on_submit():
        path = jobs.upload_dir() / f"crm-{secrets.token_hex(8)}.csv"
        form.file.data.save(str(path))
        run = commit_or_rollback(lambda: start_job(jobs.import_customers, user_id=current_user.id,
                                                   upload_path=str(path), create_missing=bool(form.create_missing.data)))
        return redirect(url_for("customers.import_run", job_id=run.id))
    recent = db.session.scalars(db.select(JobRun).where(JobRun.kind == "customers.import")
                                .order_by(JobRun.id.desc()).limit(10)).all()
    return render_template("customers/import.html", form=form, recent=recent), form_status()


@bp.get("/import/<int:job_id>")
@staff_required
def import_run(job_id: int):
    run = get_run(job_id)
    if run is None or run.kind != "customers.import":
        abort(404)
    return render_template("customers/import_run.html", run=run)


@bp.route("/segments", methods=["GET", "POST"])
@staff_required
def segment_rules():
    rules = segments.read_rules()
    form = SegmentRulesForm(obj=rules)
    if request.method == "GET":
        form.plan_values.data = "\n".join(f"{k} = {v:g}" for k, v in sorted((rules.plan_values or {}).items()))
    if form.validate_on_submit():
        def save() -> JobRun:
            plans = segments.parse_plan_values(form.plan_values.data or "")
            values = {name: getattr(form, name).data for name in segments.RULE_FIELDS}
            segments.update_rules(current_user, values, plans)
            return jobs.start_segment_recompute(None, user_id=current_user.id)

        outcome = run_service(save, form)
        if outcome.ok and outcome.value is not None:
            flash(_("The rules are saved; segments are being recomputed."), "success")
            return redirect(url_for("customers.segment_rules", job=outcome.value.id))
    run = get_run(int(request.args["job"])) if request.args.get("job", "").isdigit() else None
    return render_template("customers/segments.html", form=form, rules=segments.rule_lines(rules),
                           counts=segments.segment_counts(), weights=segments.weights(rules), run=run,
                           recompute_form=RecomputeForm()), form_status()


@bp.post("/segments/recompute")
@staff_required
def recompute():
    if not RecomputeForm().validate_on_submit():
        abort(400)
    run = commit_or_rollback(lambda: jobs.start_segment_recompute(None, user_id=current_user.id))
    return redirect(url_for("customers.segment_rules", job=run.id))


@bp.get("/access-log")
@admin_required
def access_log():
    rows, total = privacy.access_log(page_arg())
    return render_template("customers/access_log.html", rows=rows, total=total, page=page_arg())
