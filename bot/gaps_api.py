"""JSON API for knowledge gaps (staff): the questions the bot could not answer, ranked by demand;
link one to an article (teaching it the gap's wordings) or dismiss it."""
from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from bot import capture
from community.errors import Forbidden, ValidationFailed
from community.extensions import db
from community.models import Article, GapStatus, KnowledgeGap
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_gaps", __name__, url_prefix="/gaps", description="Knowledge gaps (staff)")

STATUSES = [s.value for s in GapStatus]


class GapSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True, metadata={"description": "the first wording asked"})
    status = fields.Function(lambda g: g.status.value, required=True, metadata={"enum": STATUSES})
    ask_count = fields.Integer(required=True)
    questions = fields.Function(lambda g: capture.gap_questions(g), metadata={"description": "every wording asked"})
    article_id = fields.Integer(allow_none=True)
    thread_id = fields.Integer(allow_none=True)
    dismissed_reason = fields.String()
    first_asked_at = fields.DateTime()
    last_asked_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class RankedGapSchema(Schema):
    gap = fields.Nested(GapSchema, required=True)
    demand = fields.Float(required=True, metadata={"description": "asks, each halving in weight with age"})
    askers = fields.Integer(required=True)


class GapQuerySchema(Schema):
    status = fields.String(load_default="open", validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class LinkSchema(Schema):
    article_id = fields.Integer(required=True, strict=True)


class DismissSchema(Schema):
    reason = fields.String(required=True, metadata={"description": "why (spam, out of scope...); kept with the gap"})


def _staff():
    user = signed_in_or_401()
    if not user.is_staff:
        raise Forbidden(_("Knowledge gaps are for staff."))
    return user


def _gap(gap_id: int) -> KnowledgeGap:
    gap = db.session.get(KnowledgeGap, gap_id)
    if gap is None:
        abort(404, description=_("There is no such knowledge gap."))
    return gap


@blp.route("")
class Gaps(MethodView):
    @blp.arguments(GapQuerySchema, location="query")
    @blp.response(200, RankedGapSchema(many=True))
    @blp.alt_response(403, description="Staff only")
    def get(self, args):
        """Gaps with one status, most wanted first."""
        _staff()
        return capture.ranked_gaps(GapStatus(args["status"]), limit=args["limit"])


@blp.route("/<int:gap_id>")
class GapResource(MethodView):
    @blp.response(200, GapSchema)
    @blp.alt_response(404, description="No such gap")
    def get(self, gap_id):
        """One gap with all its wordings."""
        _staff()
        return _gap(gap_id)


@blp.route("/<int:gap_id>/link")
class GapLink(MethodView):
    @blp.arguments(LinkSchema)
    @blp.response(200, GapSchema)
    @blp.alt_response(409, description="The gap is already closed")
    @blp.alt_response(422, description="No such article")
    def post(self, data, gap_id):
        """Answer the gap with an article: its wordings join the article's questions; a published article
        closes the gap at once and tells the askers, a draft closes it when published."""
        staff = _staff()
        gap = _gap(gap_id)
        article = db.session.get(Article, data["article_id"])
        if article is None:
            message = _("There is no such article.")
            raise ValidationFailed(message, {"article_id": [message]})
        commit_or_rollback(lambda: capture.link_gap_to_article(gap, article, staff))
        return gap


@blp.route("/<int:gap_id>/dismiss")
class GapDismiss(MethodView):
    @blp.arguments(DismissSchema)
    @blp.response(200, GapSchema)
    @blp.alt_response(409, description="The gap is already closed")
    @blp.alt_response(422, description="No reason given")
    def post(self, data, gap_id):
        """Close the gap on purpose, keeping the reason."""
        staff = _staff()
        gap = _gap(gap_id)
        commit_or_rollback(lambda: capture.dismiss_gap(gap, data["reason"], staff))
        return gap
