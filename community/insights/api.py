"""JSON API for insights (staff only): theme runs, themes and their items, evidence on ideas."""
from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from community.api.tokens import register_area
from community.extensions import db
from community.insights import evidence, themes
from community.insights.jobs import start_theme_run
from community.models import Idea, ThemeRun
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_insights", __name__, url_prefix="/insights",
                description="Themes, their items and evidence on ideas (staff only)")


def _staff():
    user = signed_in_or_401()
    if not user.is_staff:
        abort(403, description=_("Insights are for staff."))
    return user


class RunRequestSchema(Schema):
    sources = fields.List(fields.String(), load_default=None,
                          metadata={"description": "thread, idea, gap, ... (default thread, idea, gap)"})
    period_days = fields.Integer(load_default=None, allow_none=True, metadata={"description": "1 to 3650; empty for everything"})


class RunSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    sources = fields.List(fields.String())
    period_days = fields.Integer(allow_none=True)
    n_items = fields.Integer()
    n_themes = fields.Integer()
    seconds = fields.Float(allow_none=True)
    job_id = fields.Integer(allow_none=True, metadata={"description": "follow it at /api/v1/jobs/<job_id>"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ThemeSchema(Schema):
    id = fields.Integer()
    identity = fields.String(metadata={"description": "the same theme in every run"})
    label = fields.String()
    name = fields.String(allow_none=True)
    keywords = fields.List(fields.String())
    size = fields.Integer()
    previous_size = fields.Integer(allow_none=True)
    sentiment = fields.Dict(keys=fields.String(), values=fields.Float())
    customers = fields.Integer()
    run_id = fields.Integer()


class ItemSchema(Schema):
    theme_id = fields.Integer()
    theme = fields.String()
    keywords = fields.String()
    theme_size = fields.Integer()
    source_type = fields.String()
    source_id = fields.String()
    title = fields.String()
    url = fields.String()
    created_at = fields.String()
    similarity = fields.Float()


class ThemeDetailSchema(Schema):
    theme = fields.Nested(ThemeSchema)
    items = fields.List(fields.Nested(ItemSchema))


class EvidenceRequestSchema(Schema):
    source_type = fields.String(required=True, metadata={"description": "thread, reply, chat_message, gap, ..."})
    source_id = fields.String(required=True)
    note = fields.String(load_default="")


class EvidenceSchema(Schema):
    id = fields.Integer()
    idea_id = fields.Integer()
    source_type = fields.String()
    source_id = fields.String()
    title = fields.String()
    excerpt = fields.String()
    customer_id = fields.Integer(allow_none=True)
    note = fields.String()
    created_at = fields.DateTime()


@blp.route("/runs")
class Runs(MethodView):
    @blp.arguments(RunRequestSchema)
    @blp.response(202, RunSchema)
    @blp.alt_response(409, description="A run is already under way")
    @blp.alt_response(422, description="Unknown source or bad period")
    def post(self, data):
        """Find themes in the background; the run's job reports progress."""
        user = _staff()
        return commit_or_rollback(lambda: start_theme_run(user, data["sources"], data["period_days"]))


@blp.route("/runs/<int:run_id>")
class RunResource(MethodView):
    @blp.response(200, RunSchema)
    def get(self, run_id):
        """One theme run."""
        _staff()
        run = db.session.get(ThemeRun, run_id)
        if run is None:
            abort(404, description=_("No such run."))
        return run


@blp.route("/themes")
class Themes(MethodView):
    @blp.response(200, ThemeSchema(many=True))
    def get(self):
        """The latest finished run's themes, largest first."""
        _staff()
        run = themes.latest_run()
        return [themes.theme_summary(t) for t in run.themes] if run is not None else []


@blp.route("/themes/<int:theme_id>")
class ThemeResource(MethodView):
    @blp.response(200, ThemeDetailSchema)
    def get(self, theme_id):
        """A theme and all its items (the same rows as the CSV export)."""
        _staff()
        theme = themes.get_theme(theme_id)
        return {"theme": themes.theme_summary(theme), "items": themes.export_rows(theme.run, theme)}


@blp.route("/ideas/<int:idea_id>/evidence")
class IdeaEvidence(MethodView):
    @blp.response(200, EvidenceSchema(many=True))
    def get(self, idea_id):
        """An idea's evidence, newest first."""
        _staff()
        return [shown.evidence for shown in evidence.evidence_for(_idea(idea_id))]

    @blp.arguments(EvidenceRequestSchema)
    @blp.response(201, EvidenceSchema)
    @blp.alt_response(404, description="No such idea or item")
    @blp.alt_response(409, description="Already evidence on this idea")
    def post(self, data, idea_id):
        """Attach a thread, reply, chat message, gap or report to an idea as evidence."""
        user = _staff()
        idea = _idea(idea_id)
        return commit_or_rollback(lambda: evidence.attach_evidence(idea, data["source_type"], data["source_id"], user,
                                                                   data["note"]))


def _idea(idea_id: int) -> Idea:
    idea = db.session.get(Idea, idea_id)
    if idea is None:
        abort(404, description=_("This idea does not exist."))
    return idea

# API tokens reach these routes with insights:read / insights:write (staff only, like the pages).
register_area("insights", _l("Themes, trends, duplicates and evidence"), ["api_insights"], staff_only=True)
