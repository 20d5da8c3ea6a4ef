"""API endpoints about the service itself and the signed-in account."""
from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields

from community.api import Blueprint

blp = Blueprint("api_system", __name__, description="Service status and the current account")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok", "degraded", "down"]})
    version = fields.String(required=True)
    checks = fields.Dict(keys=fields.String(), values=fields.Dict(),
                         metadata={"description": "database, redis, jobs and index: each with ok and details"})


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.Email()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    initials = fields.String()


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database does not answer")
    def get(self):
        """The service's parts: database, Redis, job queue, and how fresh this process's index is."""
        from community.health import report

        body, serving = report()
        return body, 200 if serving else 503


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @blp.alt_response(401, description="Not signed in")
    def get(self):
        """The signed-in account."""
        from flask import abort

        if not current_user.is_authenticated:
            abort(401, description=_("Sign in to see your account."))
        return current_user


class JobSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ["queued", "running", "done", "failed"]})
    done = fields.Integer(required=True)
    total = fields.Integer(allow_none=True)
    message = fields.String(required=True)
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


@blp.route("/jobs/<int:job_id>")
class JobStatus(MethodView):
    @blp.response(200, JobSchema)
    @blp.alt_response(401, description="Not signed in")
    @blp.alt_response(404, description="No such job, or not yours")
    def get(self, job_id: int):
        """How far a background job has got (its creator or staff)."""
        from flask import abort

        from community.jobs import get_run

        if not current_user.is_authenticated:
            abort(401, description=_("Sign in to see this job."))
        run = get_run(job_id)
        if run is None or not (current_user.is_staff or run.created_by_id == current_user.id):
            abort(404, description=_("No such job."))
        return run.to_dict()
