"""JSON API for beta programs, builds, reports (with attachments) and surveys: the same services and rules as the pages."""
from __future__ import annotations

import base64
import binascii

from flask.views import MethodView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from community.api.tokens import register_area
from community.beta import services
from community.beta.services import programs, reports, surveys, uploads
from community.errors import NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    BetaMembership,
    Enrollment,
    MembershipStatus,
    ProgramStatus,
    QuestionKind,
    ReportKind,
    ReportState,
    Severity,
    Survey,
)
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_beta", __name__, url_prefix="/beta",
                description="Beta programs, testers, builds, feedback reports with attachments, and surveys")


class ProgramSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(dump_only=True)
    name = fields.String(required=True)
    description = fields.String(load_default="", metadata={"description": "Markdown"})
    enrollment = fields.Enum(Enrollment, by_value=True, load_default=Enrollment.open)
    status = fields.Enum(ProgramStatus, by_value=True, load_default=ProgramStatus.recruiting)
    capacity = fields.Integer(load_default=None, allow_none=True)
    starts_on = fields.Date(load_default=None, allow_none=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    terms = fields.String(load_default="", allow_none=True)
    idea_ids = fields.List(fields.Integer(), load_default=list, metadata={"description": "ideas it delivers"})
    url = fields.Function(services.program_url, dump_only=True)


class MembershipSchema(Schema):
    program_id = fields.Integer()
    user_id = fields.Integer()
    status = fields.Enum(MembershipStatus, by_value=True)


class ApplySchema(Schema):
    motivation = fields.String(load_default="")
    accept_terms = fields.Boolean(load_default=False)
    token = fields.String(load_default=None, metadata={"description": "a signed invitation link's token"})


class BuildSchema(Schema):
    id = fields.Integer(dump_only=True)
    program_id = fields.Integer(dump_only=True)
    version = fields.String(required=True)
    notes = fields.String(load_default="", metadata={"description": "release notes, Markdown"})
    download_url = fields.String(load_default=None, allow_none=True)
    released_at = fields.DateTime(dump_only=True)


class AttachmentInSchema(Schema):
    filename = fields.String(required=True)
    content_base64 = fields.String(required=True)


class AttachmentSchema(Schema):
    id = fields.Integer()
    original_name = fields.String(data_key="filename")
    content_type = fields.String()
    size = fields.Integer()
    url = fields.Function(lambda a: f"/beta/attachments/{a.id}")


class ReportSchema(Schema):
    id = fields.Integer(dump_only=True)
    program_id = fields.Integer(dump_only=True)
    build_id = fields.Integer(dump_only=True)
    reporter_id = fields.Integer(dump_only=True, allow_none=True)
    kind = fields.Enum(ReportKind, by_value=True, required=True)
    severity = fields.Enum(Severity, by_value=True, load_default=None, allow_none=True)
    title = fields.String(required=True)
    steps = fields.String(load_default="")
    expected = fields.String(load_default="")
    actual = fields.String(load_default="")
    os = fields.String(load_default="")
    device = fields.String(load_default="")
    app_version = fields.String(load_default="")
    state = fields.Enum(ReportState, by_value=True, dump_only=True)
    fixed_in_build_id = fields.Integer(dump_only=True, allow_none=True)
    merged_into_id = fields.Integer(dump_only=True, allow_none=True)
    idea_id = fields.Integer(dump_only=True, allow_none=True)
    me_too_count = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    attachments = fields.Nested(AttachmentSchema, many=True, dump_only=True)
    files = fields.List(fields.Nested(AttachmentInSchema), load_only=True, load_default=list, data_key="attachments",
                        metadata={"description": f"at most {uploads.MAX_FILES}: PNG, JPEG, GIF, WebP or UTF-8 .txt/.log"})


class StateSchema(Schema):
    state = fields.Enum(ReportState, by_value=True, required=True)
    fixed_in_build_id = fields.Integer(load_default=None, allow_none=True)
    note = fields.String(load_default="")


class ReportQuerySchema(Schema):
    program = fields.String(load_default=None, metadata={"description": "program slug (staff: every report of it)"})


class QuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.Enum(QuestionKind, by_value=True, required=True)
    prompt = fields.String(required=True)
    options = fields.List(fields.String(), load_default=list)
    scale_max = fields.Integer(load_default=5)


class SurveySchema(Schema):
    id = fields.Integer(dump_only=True)
    build_id = fields.Integer(dump_only=True)
    title = fields.String(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


class ResponseSchema(Schema):
    answers = fields.Dict(keys=fields.String(), required=True,
                          metadata={"description": "question id -> a rating (int), a choice, a list of choices or text"})


class DecisionSchema(Schema):
    accept = fields.Boolean(required=True)


class AttachmentsInSchema(Schema):
    attachments = fields.List(fields.Nested(AttachmentInSchema), required=True)


class SurveyResponseSchema(Schema):
    id = fields.Integer()
    survey_id = fields.Integer()


class ResultSchema(Schema):
    question_id = fields.Integer()
    prompt = fields.String()
    answered = fields.Integer()
    average = fields.Float(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    texts = fields.List(fields.String())


class ResultsSchema(Schema):
    responses = fields.Integer()
    questions = fields.List(fields.Nested(ResultSchema))


def _decode(items: list[dict]) -> list[uploads.Upload]:
    out = []
    for item in items:
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            message = _("“%(name)s” is not valid base64.", name=str(item.get("filename", ""))[:60])
            raise ValidationFailed(message, {"attachments": [message]}) from None
        out.append(uploads.Upload(item["filename"], data))
    return out


def _program(slug: str):
    return services.program_or_404(slug, signed_in_user())


def signed_in_user():
    from flask_login import current_user

    return current_user if current_user.is_authenticated else None


@blp.route("/programs")
class Programs(MethodView):
    @blp.response(200, ProgramSchema(many=True))
    def get(self):
        """Programs everyone may see (staff also see drafts)."""
        return programs.visible_programs(signed_in_user())

    @blp.arguments(ProgramSchema)
    @blp.response(201, ProgramSchema)
    @blp.alt_response(403, description="Not staff")
    @blp.alt_response(422, description="Invalid fields")
    def post(self, data):
        """Create a program (staff)."""
        user = signed_in_or_401()
        return commit_or_rollback(lambda: programs.save_program(user, None, **data))


@blp.route("/programs/<slug>")
class ProgramResource(MethodView):
    @blp.response(200, ProgramSchema)
    @blp.alt_response(404, description="No such program")
    def get(self, slug):
        """One program."""
        return _program(slug)


@blp.route("/programs/<slug>/membership")
class Membership(MethodView):
    @blp.arguments(ApplySchema)
    @blp.response(200, MembershipSchema)
    @blp.alt_response(403, description="Invite-only program")
    @blp.alt_response(409, description="Full, or not taking testers")
    def post(self, data, slug):
        """Apply (open programs), accept a standing invitation, or join with a signed invitation token."""
        user = signed_in_or_401()
        program = _program(slug)
        if data["token"]:
            return commit_or_rollback(lambda: programs.join_with_token(user, program, data["token"],
                                                                       data["accept_terms"]))
        return commit_or_rollback(lambda: programs.apply(user, program, motivation=data["motivation"],
                                                         accepted_terms=data["accept_terms"]))

    @blp.response(200, MembershipSchema)
    def delete(self, slug):
        """Leave the program."""
        user = signed_in_or_401()
        program = _program(slug)
        return commit_or_rollback(lambda: programs.leave(user, program))


@blp.route("/memberships/<int:membership_id>/decision")
class Decision(MethodView):
    @blp.arguments(DecisionSchema)
    @blp.response(200, MembershipSchema)
    def post(self, data, membership_id):
        """Accept or decline an application (staff)."""
        user = signed_in_or_401()
        services.require_staff(user)
        row = db.session.get(BetaMembership, membership_id)
        if row is None:
            raise NotFound(_("This application does not exist."))
        return commit_or_rollback(lambda: programs.decide(user, row, data["accept"]))


@blp.route("/programs/<slug>/builds")
class Builds(MethodView):
    @blp.response(200, BuildSchema(many=True))
    def get(self, slug):
        """The program's builds, newest first (its testers and staff)."""
        user = signed_in_or_401()
        program = _program(slug)
        if not (user.is_staff or services.is_tester(program, user)):
            raise NotFound(_("Builds are only for the program's testers."))
        return program.builds

    @blp.arguments(BuildSchema)
    @blp.response(201, BuildSchema)
    def post(self, data, slug):
        """Release a build (staff); the testers are notified."""
        user = signed_in_or_401()
        program = _program(slug)
        return commit_or_rollback(lambda: programs.release_build(user, program, **data))


@blp.route("/builds/<int:build_id>/reports")
class BuildReports(MethodView):
    @blp.arguments(ReportSchema)
    @blp.response(201, ReportSchema)
    @blp.alt_response(422, description="Invalid fields or a refused attachment (the fields name it)")
    def post(self, data, build_id):
        """File a report on a build (its testers), with attachments as base64."""
        user = signed_in_or_401()
        build = services.build_or_404(build_id, user)
        files = _decode(data.pop("files"))
        return commit_or_rollback(lambda: reports.file_report(
            user, build, kind=data["kind"], severity=data["severity"], title=data["title"], steps=data["steps"],
            expected=data["expected"], actual=data["actual"], os_name=data["os"], device=data["device"],
            app_version=data["app_version"], attachments=files))


@blp.route("/reports")
class Reports(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema(many=True))
    def get(self, args):
        """Your reports; staff with ?program= get every unmerged report of that program."""
        user = signed_in_or_401()
        if args["program"] and user.is_staff:
            program = _program(args["program"])
            return [r for column in reports.board(program.id).values() for r in column]
        program_id = _program(args["program"]).id if args["program"] else None
        return reports.reports_of(user, program_id)


@blp.route("/reports/<int:report_id>")
class ReportResource(MethodView):
    @blp.response(200, ReportSchema)
    @blp.alt_response(404, description="No such report, or not yours")
    def get(self, report_id):
        """One report (its reporters and staff)."""
        return services.report_or_404(report_id, signed_in_or_401())


@blp.route("/reports/<int:report_id>/state")
class ReportStateResource(MethodView):
    @blp.arguments(StateSchema)
    @blp.response(200, ReportSchema)
    def post(self, data, report_id):
        """Move a report (staff); "fixed" needs fixed_in_build_id. The reporters are notified."""
        user = signed_in_or_401()
        report = services.report_or_404(report_id, user)
        return commit_or_rollback(lambda: reports.change_state(user, report, data["state"],
                                                               fixed_in_build_id=data["fixed_in_build_id"],
                                                               note=data["note"]))


@blp.route("/reports/<int:report_id>/attachments")
class ReportAttachments(MethodView):
    @blp.arguments(AttachmentsInSchema)
    @blp.response(201, AttachmentSchema(many=True))
    def post(self, data, report_id):
        """Add files to a report (its reporter or staff)."""
        user = signed_in_or_401()
        report = services.report_or_404(report_id, user)
        files = _decode(data["attachments"])
        return commit_or_rollback(lambda: reports.add_attachments(user, report, files))


@blp.route("/builds/<int:build_id>/surveys")
class BuildSurveys(MethodView):
    @blp.response(200, SurveySchema(many=True))
    def get(self, build_id):
        """The build's surveys (its testers and staff)."""
        return surveys.surveys_for(services.build_or_404(build_id, signed_in_or_401()))

    @blp.arguments(SurveySchema)
    @blp.response(201, SurveySchema)
    def post(self, data, build_id):
        """Define a survey for the build (staff)."""
        user = signed_in_or_401()
        build = services.build_or_404(build_id, user)
        return commit_or_rollback(lambda: surveys.create_survey(user, build, data["title"], data["questions"]))


def _survey(survey_id: int, user) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise NotFound(_("This survey does not exist."))
    services.build_or_404(survey.build_id, user)
    return survey


@blp.route("/surveys/<int:survey_id>/responses")
class SurveyResponses(MethodView):
    @blp.arguments(ResponseSchema)
    @blp.response(201, SurveyResponseSchema)
    def post(self, data, survey_id):
        """Answer a survey once (the program's testers)."""
        user = signed_in_or_401()
        survey = _survey(survey_id, user)
        return commit_or_rollback(lambda: surveys.respond(user, survey, data["answers"]))


@blp.route("/surveys/<int:survey_id>/results")
class SurveyResults(MethodView):
    @blp.response(200, ResultsSchema)
    def get(self, survey_id):
        """Results per question (staff)."""
        user = signed_in_or_401()
        services.require_staff(user)
        responded, per_question = surveys.results(_survey(survey_id, user))
        return {"responses": responded, "questions": [
            {"question_id": r.question.id, "prompt": r.question.prompt, "answered": r.answered, "average": r.average,
             "counts": r.counts, "texts": r.texts} for r in per_question]}


# API tokens reach these routes with beta:read / beta:write; the routes keep their own rules.
register_area("beta", _l("Beta programs, builds, reports and surveys"), ["api_beta"])
