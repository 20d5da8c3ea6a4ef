"""JSON API: customers, their timeline and segments (staff), and the signed-in person's data export."""
from __future__ import annotations

import secrets

from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from community.api.tokens import register_area
from community.customers import jobs
from community.customers.services import privacy, profiles, segments, timeline
from community.jobs import start_job
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_customers", __name__, url_prefix="", description="Customers, segments, timelines and data export")

SEGMENTS = [s.value for s in segments.SEGMENT_ORDER]


def _staff_or_error():
    user = signed_in_or_401()
    if not user.is_staff:
        abort(403, description=_("Only staff can see customers."))
    return user


class CustomerProfileSchema(Schema):
    company = fields.String(allow_none=True)
    plan = fields.String(allow_none=True)
    annual_value = fields.Float(allow_none=True)
    signup_date = fields.Date(allow_none=True)
    attributes = fields.Dict()
    segment = fields.String(metadata={"enum": SEGMENTS})
    value_score = fields.Float(metadata={"description": "yearly value used for the segment"})
    engagement = fields.Integer(metadata={"description": "activities in the last 90 days"})
    support_load = fields.Integer(metadata={"description": "handoffs and thumbs-down in the last 90 days"})
    interests = fields.List(fields.String())
    computed_at = fields.DateTime(allow_none=True)


class CustomerSchema(Schema):
    id = fields.Integer()
    email = fields.Email()
    display_name = fields.String()
    created_at = fields.DateTime()
    profile = fields.Nested(CustomerProfileSchema, allow_none=True)


class CustomerListSchema(Schema):
    items = fields.List(fields.Nested(CustomerSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class CustomerQuerySchema(Schema):
    q = fields.String(load_default=None, metadata={"description": "words in the name, e-mail or company"})
    segment = fields.String(load_default=None, validate=validate.OneOf(SEGMENTS))
    plan = fields.String(load_default=None)
    company = fields.String(load_default=None)
    activity = fields.String(load_default=None, validate=validate.OneOf(profiles.ACTIVITY))
    sort = fields.String(load_default="value", validate=validate.OneOf(profiles.SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TimelineItemSchema(Schema):
    key = fields.String()
    at = fields.String(metadata={"description": "ISO 8601, UTC"})
    feature = fields.String()
    kind = fields.String()
    title = fields.String()
    detail = fields.String()
    link = fields.String()


class TimelineSchema(Schema):
    items = fields.List(fields.Nested(TimelineItemSchema))
    page = fields.Integer()
    has_more = fields.Boolean()
    features = fields.List(fields.String())


class TimelineQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=30, validate=validate.Range(min=1, max=100))
    feature = fields.String(load_default=None)


class RulesSchema(Schema):
    high_value = fields.Float(validate=validate.Range(min=0))
    engaged_activity = fields.Integer(validate=validate.Range(min=0))
    quiet_activity = fields.Integer(validate=validate.Range(min=0))
    high_support_load = fields.Integer(validate=validate.Range(min=0))
    weight_most_valuable = fields.Float(validate=validate.Range(min=0, max=100))
    weight_growth_potential = fields.Float(validate=validate.Range(min=0, max=100))
    weight_at_risk = fields.Float(validate=validate.Range(min=0, max=100))
    weight_ordinary = fields.Float(validate=validate.Range(min=0, max=100))
    plan_values = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(min=0)))


class SegmentsSchema(Schema):
    rules = fields.Nested(RulesSchema)
    rule = fields.List(fields.Dict(), metadata={"description": "the rule in words, checked in order"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    job_id = fields.Integer(allow_none=True, metadata={"description": "the recomputation started by a change"})


class CustomerImportSchema(Schema):
    csv = fields.String(required=True, validate=validate.Length(min=1),
                        metadata={"description": "the CRM export's CSV text (e-mail column required)"})
    create_missing = fields.Boolean(load_default=False)


class ExportSchema(Schema):
    format = fields.String()
    exported_at = fields.String()
    account = fields.Dict()
    profile = fields.Dict(allow_none=True)
    contribution = fields.Dict()
    notification_settings = fields.Dict()
    timeline = fields.List(fields.Dict(), metadata={"description": "every timeline item, with all stored data"})
    staff_views = fields.List(fields.Dict(), metadata={"description": "when staff looked at this person's data"})


class JobStartedSchema(Schema):
    job_id = fields.Integer()
    status_url = fields.String()


def _customer_dict(user, profile) -> dict:
    return {"id": user.id, "email": user.email, "display_name": user.display_name, "created_at": user.created_at,
            "profile": profile}


def _segments_body(job_id: int | None = None) -> dict:
    rules = segments.read_rules()
    return {"rules": {name: getattr(rules, name) for name in (*segments.RULE_FIELDS, "plan_values")},
            "rule": [{"segment": label, "condition": condition} for label, condition in segments.rule_lines(rules)],
            "counts": segments.segment_counts(), "job_id": job_id}


@blp.route("/customers")
class Customers(MethodView):
    @blp.arguments(CustomerQuerySchema, location="query")
    @blp.response(200, CustomerListSchema)
    @blp.alt_response(403, description="Not staff")
    def get(self, args):
        """Customers with their profile and segment, filtered and sorted (staff)."""
        _staff_or_error()
        result = profiles.list_customers(**args)
        return {"items": [_customer_dict(r.user, r.profile) for r in result.rows], "total": result.total,
                "page": result.page, "pages": result.pages}


@blp.route("/customers/<int:user_id>")
class Customer(MethodView):
    @blp.response(200, CustomerSchema)
    @blp.alt_response(404, description="No such customer")
    def get(self, user_id: int):
        """One customer's profile, segment and interests (staff; the access is logged)."""
        staff = _staff_or_error()
        user, profile = profiles.get_customer(user_id)
        commit_or_rollback(lambda: privacy.log_view(staff, user, "api"))
        return _customer_dict(user, profile)


@blp.route("/customers/<int:user_id>/timeline")
class CustomerTimeline(MethodView):
    @blp.arguments(TimelineQuerySchema, location="query")
    @blp.response(200, TimelineSchema)
    @blp.alt_response(404, description="No such customer")
    def get(self, args, user_id: int):
        """Everything the customer did across features, newest first, paged (staff; the access is logged)."""
        staff = _staff_or_error()
        user, _profile = profiles.get_customer(user_id)
        page = timeline.customer_timeline(user.id, args["page"], args["per_page"], args["feature"])
        commit_or_rollback(lambda: privacy.log_view(staff, user, "timeline"))
        return {"items": [i.to_dict() for i in page.items], "page": page.page, "has_more": page.has_more,
                "features": page.features}


@blp.route("/customers/segments")
class Segments(MethodView):
    @blp.response(200, SegmentsSchema)
    def get(self):
        """The segment rule, thresholds, weights and how many customers are in each segment (staff)."""
        _staff_or_error()
        return _segments_body()

    @blp.arguments(RulesSchema)
    @blp.response(200, SegmentsSchema)
    @blp.alt_response(422, description="A value is not valid (the field is named)")
    def put(self, values):
        """Change thresholds and weights; segments are recomputed in the background (staff)."""
        staff = _staff_or_error()
        plans = values.pop("plan_values", None)

        def change():
            segments.update_rules(staff, values, plans)
            return jobs.start_segment_recompute(None, user_id=staff.id)

        run = commit_or_rollback(change)
        return _segments_body(run.id)


@blp.route("/customers/imports")
class Imports(MethodView):
    @blp.arguments(CustomerImportSchema)
    @blp.response(202, JobStartedSchema)
    def post(self, body):
        """Start a CRM import from CSV text; follow it at /api/v1/jobs/<job_id> (staff)."""
        staff = _staff_or_error()
        path = jobs.upload_dir() / f"crm-{secrets.token_hex(8)}.csv"
        path.write_text(body["csv"], encoding="utf-8")
        run = commit_or_rollback(lambda: start_job(jobs.import_customers, user_id=staff.id, upload_path=str(path),
                                                   create_missing=body["create_missing"]))
        return {"job_id": run.id, "status_url": f"/api/v1/jobs/{run.id}"}


@blp.route("/me/export")
class MyExport(MethodView):
    @blp.response(200, ExportSchema)
    @blp.alt_response(401, description="Not signed in")
    def get(self):
        """Everything stored about the signed-in person (their timeline, profile, points, who looked)."""
        user = signed_in_or_401()
        return privacy.export_data(user)

# API tokens reach these routes with customers:read / customers:write; the routes keep their own rules
# (staff for customers and segments, everyone for their own data export).
register_area("customers", _l("Customers, segments, timelines and your data export"), ["api_customers"],
              staff_only_write=True)
