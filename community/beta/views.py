"""Beta pages: programs, applying and testers, builds, reports with attachments, the triage board,
known issues, surveys and program health. Thin: parse, authorize, call a service, commit once."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from community.access import staff_required
from community.beta import bp, services
from community.beta.services import health as health_service
from community.beta.services import known_issues, programs, reports, surveys, uploads
from community.beta.forms import (
    ApplyForm,
    BuildForm,
    CommentForm,
    InviteForm,
    KnownIssueForm,
    LinkIdeaForm,
    MergeForm,
    ProgramForm,
    ReportForm,
    StateForm,
    SurveyForm,
)
from community.errors import ValidationFailed
from community.extensions import db
from community.markup import render_markdown
from community.models import (
    BetaAttachment,
    BetaMembership,
    Idea,
    MembershipStatus,
    ReportState,
    Survey,
)
from community.viewhelpers import FORM_ERROR_STATUS, form_status, run_service

T = TypeVar("T")


def _user():
    return current_user if current_user.is_authenticated else None


def _try(action: Callable[[], object], success: str | None = None) -> bool:
    """Run a service call and commit (run_service shows a broken rule); flash success; say whether it worked."""
    outcome = run_service(action)
    if outcome.ok and success:
        flash(success, "success")
    return outcome.ok


def _submit(form, action: Callable[[], T], message: Callable[[T], str], target: Callable[[T], str]):
    """A valid form post: run the service and commit, flash, redirect. A broken rule goes on the form
    (nothing written) and None is returned, as for a GET: the caller renders the form page."""
    if not form.validate_on_submit():
        return None
    outcome = run_service(action, form)
    if outcome.value is None:
        return None
    flash(message(outcome.value), "success")
    return redirect(target(outcome.value))


def _form_page(template: str, **context):
    """A form page (FORM_ERROR_STATUS when it comes back from a refused post)."""
    return render_template(template, **context), form_status()


def _next_or(default: str) -> str:
    """Where a board action returns to: a page of this section only (never another site)."""
    target = request.form.get("next") or ""
    return target if target.startswith("/beta/") else default


@bp.app_template_filter("beta_state")
def _state_filter(state) -> str:
    return reports.state_label(state)


@bp.app_template_filter("beta_kind")
def _kind_filter(kind) -> str:
    return reports.kind_label(kind)


@bp.app_template_filter("beta_severity")
def _severity_filter(severity) -> str:
    return reports.severity_label(severity)


@bp.app_template_global("beta_markdown")
def _markdown(text: str):
    return render_markdown(text or "")


# ---------------------------------------------------------------- programs

@bp.get("/")
def index():
    user = _user()
    listed = programs.visible_programs(user)
    mine = {}
    if user is not None:
        mine = {m.program_id: m for m in db.session.scalars(
            db.select(BetaMembership).where(BetaMembership.user_id == user.id))}
    return render_template("beta/index.html", programs=listed, mine=mine,
                           my_reports=reports.reports_of(user)[:10] if user else [])


def _program_form(form: ProgramForm) -> None:
    form.ideas.choices = [SelectChoice(i.id, f"#{i.id} {i.title}") for i in db.session.scalars(
        db.select(Idea).where(Idea.merged_into_id.is_(None)).order_by(Idea.title))]


def _save_program(form: ProgramForm, program):
    return programs.save_program(
        current_user, program, name=form.name.data, description=form.description.data,
        enrollment=form.enrollment.data, status=form.status.data, capacity=form.capacity.data,
        starts_on=form.starts_on.data, ends_on=form.ends_on.data, terms=form.terms.data, idea_ids=form.ideas.data or [])


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new_program():
    form = ProgramForm()
    _program_form(form)
    return _submit(form, lambda: _save_program(form, None), lambda p: _("The program is created. Add its first build."),
                   lambda p: url_for("beta.program", slug=p.slug)) or _form_page(
        "beta/program_form.html", form=form, program=None)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@staff_required
def edit_program(slug: str):
    program = services.program_or_404(slug, _user())
    form = ProgramForm(obj=program)
    _program_form(form)
    if request.method == "GET":
        form.enrollment.data, form.status.data = program.enrollment.value, program.status.value
        form.ideas.data = [i.id for i in program.ideas]
    return _submit(form, lambda: _save_program(form, program), lambda p: _("The program is saved."),
                   lambda p: url_for("beta.program", slug=p.slug)) or _form_page(
        "beta/program_form.html", form=form, program=program)


@bp.get("/<slug>/")
def program(slug: str):
    user = _user()
    program = services.program_or_404(slug, user)
    row = services.membership(program, user)
    tester = row is not None and row.status is MembershipStatus.accepted
    staff = services.is_staff(user)
    return render_template(
        "beta/program.html", program=program, membership=row, tester=tester, staff=staff,
        apply_form=ApplyForm(), builds=program.builds if (tester or staff) else [],
        issues=known_issues.for_program(program, user), description=render_markdown(program.description),
        my_reports=reports.reports_of(user, program.id) if user else [],
        testers=programs.accepted_count(program),
    )


@bp.post("/<slug>/apply")
@login_required
def apply(slug: str):
    program = services.program_or_404(slug, _user())
    form = ApplyForm()
    row = services.membership(program, current_user)
    was_invited = row is not None and row.status is MembershipStatus.invited
    if form.validate_on_submit():
        done = _try(lambda: programs.apply(current_user, program, motivation=form.motivation.data,
                                           accepted_terms=form.accept_terms.data))
        if done:
            flash(_("Welcome aboard! You're a tester now.") if was_invited else
                  _("Thanks! Your application is in; you'll hear from us."), "success")
    return redirect(url_for("beta.program", slug=program.slug))


@bp.post("/<slug>/leave")
@login_required
def leave(slug: str):
    program = services.program_or_404(slug, _user())
    _try(lambda: programs.leave(current_user, program), _("You left the program. Your reports stay."))
    return redirect(url_for("beta.program", slug=program.slug))


@bp.route("/<slug>/join/<token>", methods=["GET", "POST"])
@login_required
def join(slug: str, token: str):
    program = services.program_or_404(slug, _user())
    form = ApplyForm()
    if form.validate_on_submit() and _try(
            lambda: programs.join_with_token(current_user, program, token, form.accept_terms.data),
            _("Welcome aboard! You're a tester now.")):
        return redirect(url_for("beta.program", slug=program.slug))
    return render_template("beta/join.html", program=program, form=form, token=token)


@bp.route("/<slug>/testers", methods=["GET", "POST"])
@staff_required
def testers(slug: str):
    program = services.program_or_404(slug, _user())
    form = InviteForm()
    done = _submit(form, lambda: programs.invite(current_user, program, form.email.data),
                   lambda _row: _("Invitation sent."), lambda _row: url_for("beta.testers", slug=slug))
    if done:
        return done
    link = url_for("beta.join", slug=program.slug, token=programs.invitation_token(program), _external=True)
    members = programs.members(program)
    only = {int(i) for i in request.args.get("users", "").split(",") if i.isdigit()}
    if only:  # the health page's "active testers" links here with their ids
        members = [m for m in members if m.user_id in only]
    return _form_page("beta/testers.html", program=program, form=form, members=members,
                      invitation_link=link, filtered=bool(only))


@bp.post("/members/<int:membership_id>/<any(accept, decline):decision>")
@staff_required
def decide(membership_id: int, decision: str):
    row = db.session.get(BetaMembership, membership_id)
    if row is None:
        abort(404)
    _try(lambda: programs.decide(current_user, row, decision == "accept"),
         _("%(name)s is a tester now.", name=row.user.display_name) if decision == "accept"
         else _("Application declined."))
    return redirect(url_for("beta.testers", slug=row.program.slug))


# ---------------------------------------------------------------- builds

@bp.route("/<slug>/builds/new", methods=["GET", "POST"])
@staff_required
def new_build(slug: str):
    program = services.program_or_404(slug, _user())
    form = BuildForm()
    return _submit(form, lambda: programs.release_build(current_user, program, version=form.version.data,
                                                        notes=form.notes.data, download_url=form.download_url.data),
                   lambda b: _("Build %(version)s is out; its testers are told.", version=b.version),
                   lambda b: url_for("beta.build", build_id=b.id)) or _form_page(
        "beta/build_form.html", form=form, program=program)


@bp.get("/builds/<int:build_id>")
def build(build_id: int):
    user = _user()
    if user is None:
        return redirect(url_for("auth.login", next=request.path))
    build = services.build_or_404(build_id, user)
    survey_list = surveys.surveys_for(build)
    answered = {s.id for s in survey_list if surveys.response_of(s, user) is not None}
    return render_template("beta/build.html", build=build, program=build.program, notes=render_markdown(build.notes),
                           surveys=survey_list, answered=answered, staff=services.is_staff(user),
                           issues=[i for i in known_issues.for_program(build.program, user)
                                   if any(b.id == build.id for b in i.builds)])


# ---------------------------------------------------------------- reports

def _uploads(form: ReportForm) -> list[uploads.Upload]:
    files = []
    for storage in request.files.getlist(form.attachments.name):
        if storage and (storage.filename or "").strip():
            files.append(uploads.Upload(storage.filename or "", storage.read()))
    return files


@bp.route("/builds/<int:build_id>/report", methods=["GET", "POST"])
@login_required
def new_report(build_id: int):
    build = services.build_or_404(build_id, current_user)
    form = ReportForm()
    if request.method == "GET":
        env = reports.environment_of(current_user)
        if env is not None:  # remembered from the tester's last report
            form.os.data, form.device.data, form.app_version.data = env.os, env.device, env.app_version
        if not form.app_version.data:
            form.app_version.data = build.version
        if request.args.get("title"):
            form.title.data = request.args["title"][: services.MAX_TITLE]
            form.actual.data = request.args.get("actual", "")[: services.MAX_TEXT]
    done = _submit(form, lambda: reports.file_report(
        current_user, build, kind=form.kind.data, severity=form.severity.data, title=form.title.data,
        steps=form.steps.data, expected=form.expected.data, actual=form.actual.data, os_name=form.os.data,
        device=form.device.data, app_version=form.app_version.data, attachments=_uploads(form)),
        lambda r: _("Thanks! Report #%(id)d is filed; you'll hear about every change.", id=r.id),
        lambda r: url_for("beta.report", report_id=r.id))
    if done:
        return done
    similar = []
    if form.title.data:
        similar = reports.similar_open(build.program_id, form.title.data)
    return _form_page("beta/report_form.html", form=form, build=build, program=build.program, similar=similar)


@bp.get("/builds/<int:build_id>/similar")
@login_required
def similar(build_id: int):
    """Open reports of the program that mean what the tester is typing (for "me too" instead of a duplicate)."""
    build = services.build_or_404(build_id, current_user)
    matches = reports.similar_open(build.program_id, request.args.get("q", "")[: services.MAX_TITLE])
    return jsonify({"reports": [
        {"id": r.id, "title": r.title, "state": reports.state_label(r.state), "score": round(score, 3),
         "me_too_url": url_for("beta.me_too", report_id=r.id)} for r, score in matches]})


@bp.get("/report-from-chat")
@login_required
def report_from_chat():
    """The chat's "Report this for build N": the form of the tester's current build, prefilled."""
    build = services.current_build_for(current_user)
    if build is None:
        flash(_("You are not testing any beta program right now."), "info")
        return redirect(url_for("beta.index"))
    prefill = services.report_prefill(request.args.get("text", ""))
    return redirect(url_for("beta.new_report", build_id=build.id, title=prefill.title, actual=prefill.actual))


@bp.get("/reports/<int:report_id>")
@login_required
def report(report_id: int):
    report = services.report_or_404(report_id, current_user)
    staff = current_user.is_staff
    context = {"report": report, "program": report.program, "comments": reports.comments(report),
               "history": reports.history(report), "comment_form": CommentForm(), "staff": staff,
               "known_issue": known_issues.for_report(report), "supporters": reports.reporters(report)[1:]}
    if staff:
        state_form = StateForm(state=report.state.value)
        state_form.state.choices = [SelectChoice(s.value, reports.state_label(s)) for s in reports.STATE_ORDER]
        builds = report.program.builds
        state_form.fixed_in_build_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(b.id), b.version) for b in builds]
        issue = context["known_issue"]
        ki_form = KnownIssueForm(obj=issue, prefix="ki")  # its "body" must not clash with the comment form's
        ki_form.builds.choices = [SelectChoice(b.id, b.version) for b in builds]
        if issue is None:
            ki_form.title.data, ki_form.body.data = report.title, report.actual
            ki_form.builds.data = [report.build_id]
        else:
            ki_form.builds.data = [b.id for b in issue.builds]
        context.update(state_form=state_form, known_issue_form=ki_form, merge_form=MergeForm(),
                       idea_form=LinkIdeaForm(idea_id=report.idea_id),
                       similar=[(r, s) for r, s in reports.similar_open(report.program_id, report.title, k=6)
                                if r.id != report.id])
    return render_template("beta/report.html", **context)


@bp.post("/reports/<int:report_id>/comment")
@login_required
def comment(report_id: int):
    report = services.report_or_404(report_id, current_user)
    form = CommentForm()
    if form.validate_on_submit():
        _try(lambda: reports.add_comment(current_user, report, form.body.data))
    else:
        flash(_("Write a comment first (at most %(n)d characters).", n=services.MAX_COMMENT), "error")
    return redirect(url_for("beta.report", report_id=report.id))


@bp.post("/reports/<int:report_id>/me-too")
@login_required
def me_too(report_id: int):
    report = reports.get_report(report_id)
    if not (current_user.is_staff or services.is_tester(report.program_id, current_user)):
        abort(404)
    _try(lambda: reports.me_too(current_user, report), _("Counted: you'll hear about every change to it."))
    return redirect(url_for("beta.report", report_id=reports.resolve_merged(report).id))


@bp.post("/reports/<int:report_id>/state")
@staff_required
def change_state(report_id: int):
    report = reports.get_report(report_id)
    form = StateForm()
    form.state.choices = [SelectChoice(s.value, s.value) for s in ReportState]
    if form.validate_on_submit():
        _try(lambda: reports.change_state(current_user, report, form.state.data,
                                          fixed_in_build_id=form.fixed_in_build_id.data or None, note=form.note.data),
             _("The report is %(state)s; its reporters are told.", state=reports.state_label(form.state.data)))
    return redirect(_next_or(url_for("beta.report", report_id=report.id)))


@bp.post("/reports/<int:report_id>/merge")
@staff_required
def merge(report_id: int):
    duplicate = reports.get_report(report_id)
    form = MergeForm()
    if not form.validate_on_submit():
        flash(_("Give the number of the report to merge into."), "error")
        return redirect(url_for("beta.report", report_id=duplicate.id))
    target = db.session.get(type(duplicate), form.target_id.data)
    if target is None:
        flash(_("No report has this number."), "error")
        return redirect(url_for("beta.report", report_id=duplicate.id))
    if _try(lambda: reports.merge(current_user, duplicate, target),
            _("Merged: its reporter now counts on #%(id)d.", id=target.id)):
        return redirect(_next_or(url_for("beta.report", report_id=target.id)))
    return redirect(url_for("beta.report", report_id=duplicate.id))


@bp.post("/reports/<int:report_id>/known-issue")
@staff_required
def publish_known_issue(report_id: int):
    report = reports.get_report(report_id)
    form = KnownIssueForm(prefix="ki")
    form.builds.choices = [SelectChoice(b.id, b.version) for b in report.program.builds]
    if not form.validate_on_submit():
        flash(_("A known issue needs a title and the text testers see."), "error")
        return redirect(url_for("beta.report", report_id=report.id))
    _try(lambda: known_issues.publish(current_user, report, title=form.title.data, body=form.body.data,
                                      workaround=form.workaround.data, public=form.public.data,
                                      build_ids=form.builds.data or [report.build_id]),
         _("Published as a known issue; the bot answers with it now."))
    return redirect(url_for("beta.report", report_id=report.id))


@bp.post("/reports/<int:report_id>/idea")
@staff_required
def link_idea(report_id: int):
    report = reports.get_report(report_id)
    if request.form.get("promote"):
        _try(lambda: reports.promote_to_idea(current_user, report), _("The report is now an idea others can vote on."))
    else:
        form = LinkIdeaForm()
        _try(lambda: reports.link_idea(current_user, report, form.idea_id.data), _("Saved."))
    return redirect(url_for("beta.report", report_id=report.id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    row = db.session.get(BetaAttachment, attachment_id)
    if row is None:
        abort(404)
    services.report_or_404(row.report_id, current_user)
    thumb = request.args.get("thumb") == "1" and row.thumb_name
    path = uploads.file_path(row.thumb_name if thumb else row.stored_name)  # type: ignore[arg-type]
    if not path.is_file():
        abort(404)
    # Read whole (attachments are at most a few MB): no file handle outlives the request.
    response = send_file(io.BytesIO(path.read_bytes()), mimetype="image/png" if thumb else row.content_type, as_attachment=True,
                         download_name=row.original_name if not thumb else f"thumbnail-{row.original_name}.png",
                         max_age=0)
    # Never a page of this site: a download, typed by us, in a sandbox with nothing allowed.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ---------------------------------------------------------------- triage board, known issues, health

@bp.get("/<slug>/board")
@staff_required
def board(slug: str):
    program = services.program_or_404(slug, _user())
    try:
        build_id = int(request.args["build"]) if request.args.get("build") else None
        ids = [int(i) for i in request.args["ids"].split(",") if i] if request.args.get("ids") else None
    except ValueError:
        raise ValidationFailed(_("Filter by build and report numbers.")) from None
    columns = reports.board(program.id, build_id=build_id, kind=request.args.get("kind") or None,
                            severity=request.args.get("severity") or None, ids=ids)
    return render_template("beta/board.html", program=program, columns=columns,
                           groups=reports.duplicate_groups(program.id), filtered=bool(request.args),
                           next_url=request.full_path.rstrip("?"))


@bp.get("/known-issues/<int:issue_id>")
def known_issue(issue_id: int):
    issue = known_issues.get_visible(issue_id, _user())
    return render_template("beta/known_issue.html", issue=issue, program=issue.program,
                           body=render_markdown(issue.body), workaround=render_markdown(issue.workaround),
                           status=known_issues.fix_status(issue))


@bp.get("/<slug>/health")
@staff_required
def health(slug: str):
    program = services.program_or_404(slug, _user())
    builds = program.builds
    if not builds:
        flash(_("Health figures appear once the program has a build."), "info")
        return redirect(url_for("beta.program", slug=slug))
    try:
        chosen = next(b for b in builds if str(b.id) == request.args.get("build", str(builds[0].id)))
    except StopIteration:
        abort(404)
    figures = health_service.build_health(program, chosen)
    return render_template("beta/health.html", program=program, builds=builds, h=figures)


# ---------------------------------------------------------------- surveys

def _parse_questions(text: str) -> list[dict]:
    out = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        kind, sep, rest = line.partition(":")
        if not sep:
            raise ValidationFailed(_("Line %(n)d: start with rating:, single:, multiple: or text:.", n=n),
                                   {"questions": [_("Line %(n)d has no kind.", n=n)]})
        parts = [p.strip() for p in rest.split("|")]
        out.append({"kind": kind.strip().lower(), "prompt": parts[0], "options": parts[1:]})
    return out


@bp.route("/builds/<int:build_id>/surveys/new", methods=["GET", "POST"])
@staff_required
def new_survey(build_id: int):
    build = services.build_or_404(build_id, current_user)
    form = SurveyForm()
    return _submit(form, lambda: surveys.create_survey(current_user, build, form.title.data,
                                                       _parse_questions(form.questions.data)),
                   lambda _s: _("The survey is ready for the build's testers."),
                   lambda sv: url_for("beta.survey", survey_id=sv.id)) or _form_page(
        "beta/survey_form.html", form=form, build=build)


@bp.route("/surveys/<int:survey_id>", methods=["GET", "POST"])
@login_required
def survey(survey_id: int):
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        abort(404)
    build = services.build_or_404(survey.build_id, current_user)
    errors: dict = {}
    status = 200
    if request.method == "POST":
        answers = {f"q{q.id}": (request.form.getlist(f"q{q.id}") if q.kind.value == "multiple"
                                else request.form.get(f"q{q.id}")) for q in survey.questions}
        outcome = run_service(lambda: surveys.respond(current_user, survey, answers))
        if outcome.ok:
            flash(_("Thanks for answering!"), "success")
            return redirect(url_for("beta.build", build_id=build.id))
        assert outcome.error is not None
        errors = outcome.error.fields
        status = outcome.error.status if outcome.error.status == 409 else FORM_ERROR_STATUS
    responded, results = surveys.results(survey) if current_user.is_staff else (0, [])
    return render_template("beta/survey.html", survey=survey, build=build, errors=errors,
                           answered=surveys.response_of(survey, current_user) is not None,
                           responded=responded, results=results), status
