"""JSON API for the signed-in user's notifications: read them (cursor-paged, newest first) and mark them read."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import and_, or_, select

from community.database import MAX_ROW_ID
from community.api.cursor import decode_cursor, encode_cursor, page_schema
from community.extensions import db
from community.models import Notification
from community.notifications import services
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_notifications", __name__, url_prefix="/notifications",
                description="Your notifications")


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "dotted kind, e.g. idea.status, forum.mention"})
    title = fields.String(required=True)
    body = fields.String()
    link = fields.String(metadata={"description": "site-relative page it is about"})
    actor_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True)


NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread ones"})
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class MarkReadSchema(Schema):
    id = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(0, MAX_ROW_ID),
                        metadata={"description": "one notification; leave out to mark all read"})


class MarkedSchema(Schema):
    marked = fields.Integer(required=True)
    unread = fields.Integer(required=True)


@blp.route("")
class Notifications(MethodView):
    @blp.arguments(NotificationQuerySchema, location="query")
    @blp.response(200, NotificationPageSchema)
    @blp.alt_response(401, description="Not signed in")
    def get(self, args):
        """Your notifications, newest first; follow next_cursor for older ones."""
        user = signed_in_or_401()
        stmt = select(Notification).where(Notification.user_id == user.id)
        if args["unread"]:
            stmt = stmt.where(Notification.read_at.is_(None))
        if args["cursor"]:
            moment, row_id = decode_cursor(args["cursor"])
            stmt = stmt.where(or_(Notification.created_at < moment,
                                  and_(Notification.created_at == moment, Notification.id < row_id)))
        rows = list(db.session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
                                       .limit(args["limit"] + 1)))
        more = len(rows) > args["limit"]
        rows = rows[:args["limit"]]
        return {"items": rows,
                "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more else None}


@blp.route("/read")
class MarkRead(MethodView):
    @blp.arguments(MarkReadSchema)
    @blp.response(200, MarkedSchema)
    @blp.alt_response(401, description="Not signed in")
    def post(self, data):
        """Mark one notification, or all, read."""
        user = signed_in_or_401()
        marked = commit_or_rollback(lambda: services.mark_read(user.id, data["id"]))
        return {"marked": marked, "unread": services.unread_count(user.id)}
