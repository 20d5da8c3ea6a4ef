"""JSON API for forum categories, threads, replies and accepted answers (same services as the pages)."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from community import tags as tags_rules
from community.api.cursor import CursorQuerySchema, keyset_page, page_schema
from community.api import NOT_BLANK, Blueprint, Contains, at_least, tag_list
from community.database import MAX_ROW_ID
from community.errors import _fields_from, error_body
from community.forum import services
from community.rendered import body_html
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_forum", __name__, url_prefix="/forum", description="Forum categories, threads, replies and answers")


TITLE_PATTERN = at_least(services.MIN_TITLE)


class ForumAuthorSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()


class ForumCategorySchema(Schema):
    slug = fields.String()
    name = fields.String()
    description = fields.String(metadata={"description": "Markdown"})
    staff_only = fields.Boolean()


class ForumReplySchema(Schema):
    id = fields.Integer(dump_only=True)
    thread_id = fields.Integer(dump_only=True)
    body = fields.Method("_body", deserialize="_load_body", required=True,
                         metadata={"description": f"Markdown, at most {services.MAX_BODY} characters; "
                                                  "empty for deleted or hidden replies",
                                   "type": "string", "maxLength": services.MAX_BODY, "pattern": NOT_BLANK})
    html = fields.Method("_html", dump_only=True, metadata={"description": "the body rendered and sanitized"})
    author = fields.Nested(ForumAuthorSchema, dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(dump_only=True, allow_none=True)
    deleted = fields.Function(lambda r: r.is_deleted, dump_only=True)
    hidden = fields.Boolean(dump_only=True)
    like_count = fields.Integer(dump_only=True)
    accepted = fields.Function(lambda r: r.thread.accepted_reply_id == r.id, dump_only=True)

    def _shown(self, reply) -> bool:
        return not reply.is_deleted and (not reply.hidden or services.is_staff(current_user))

    def _body(self, reply) -> str:
        return reply.body if self._shown(reply) else ""

    def _html(self, reply) -> str:
        return str(body_html(reply)) if self._shown(reply) else ""  # stored when written, as the pages show it

    def _load_body(self, value):
        if not isinstance(value, str):
            raise validate.ValidationError(_("Not a valid string."))
        return value


class ForumThreadSchema(Schema):
    id = fields.Integer(dump_only=True)
    category = fields.String(required=True, load_only=True, metadata={"description": "category slug"})
    category_slug = fields.Function(lambda t: t.category.slug, dump_only=True)
    # The patterns say what the services accept: a title of MIN_TITLE characters once trimmed, a body not blank.
    title = fields.String(required=True, validate=[Contains(TITLE_PATTERN), validate.Length(max=services.MAX_TITLE)],
                          metadata={"description": f"{services.MIN_TITLE}–{services.MAX_TITLE} characters"})
    body = fields.String(required=True, validate=[Contains(NOT_BLANK), validate.Length(max=services.MAX_BODY)],
                         metadata={"description": f"Markdown, at most {services.MAX_BODY} characters"})
    html = fields.Function(lambda t: str(body_html(t)), dump_only=True,
                           metadata={"description": "the body rendered and sanitized (stored when written)"})
    tags = fields.Method("_tags", deserialize="_load_tags", load_default=list, allow_none=True,
                         metadata={"type": "array", "maxItems": tags_rules.MAX_TAGS, "nullable": True,
                                   "items": {"type": "string", "maxLength": tags_rules.MAX_TAG},
                                   "description": f"at most {tags_rules.MAX_TAGS} tag names; null or absent for none"})
    author = fields.Nested(ForumAuthorSchema, dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    last_activity_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(dump_only=True, allow_none=True)
    pinned = fields.Boolean(dump_only=True)
    locked = fields.Boolean(dump_only=True)
    reply_count = fields.Integer(dump_only=True)
    views = fields.Integer(dump_only=True)
    accepted_reply_id = fields.Integer(dump_only=True, allow_none=True)
    url = fields.Function(lambda t: services.thread_link(t), dump_only=True)

    def _tags(self, thread) -> list[str]:
        return [t.name for t in thread.tags]

    def _load_tags(self, value):
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise validate.ValidationError(_("A list of strings."))
        return value


ForumThreadPageSchema = page_schema(ForumThreadSchema, "ForumThreadPage")


class ForumThreadDetailSchema(ForumThreadSchema):
    replies = fields.Method("_replies", dump_only=True)

    def _replies(self, thread):
        return ForumReplySchema(many=True).dump(services.visible_replies(current_user, thread))


class ForumThreadQuerySchema(Schema):
    sort = fields.String(load_default="latest", validate=validate.OneOf(services.SORTS))
    category = fields.String(load_default=None, metadata={"description": "category slug"})
    tag = fields.String(load_default=None)


class ForumThreadEditSchema(Schema):
    title = fields.String(required=True, validate=[Contains(TITLE_PATTERN), validate.Length(max=services.MAX_TITLE)])
    body = fields.String(required=True, validate=[Contains(NOT_BLANK), validate.Length(max=services.MAX_BODY)])
    tags = tag_list(load_default=None, allow_none=True)


class ForumReplyEditSchema(Schema):
    body = fields.String(required=True, validate=[Contains(NOT_BLANK), validate.Length(max=services.MAX_BODY)])


class LikeStateSchema(Schema):
    reply_id = fields.Integer(required=True)
    liked = fields.Boolean(required=True)
    like_count = fields.Integer(required=True)


class ForumAcceptSchema(Schema):
    reply_id = fields.Integer(required=True, allow_none=True, strict=True, validate=validate.Range(min=0, max=MAX_ROW_ID),
                              metadata={"description": "the reply to accept; null clears the accepted answer"})


@blp.errorhandler(422)
def _invalid(error):
    # Same JSON shape as the site-wide handler (webargs passes headers=None, which it cannot iterate).
    return jsonify(error_body(422, _("Some fields are not valid."), _fields_from(error))), 422




@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, ForumCategorySchema(many=True))
    def get(self):
        """Categories you may see, in display order."""
        return services.visible_categories(current_user)


@blp.route("/threads")
class Threads(MethodView):
    @blp.arguments(ForumThreadQuerySchema, location="query")
    @blp.response(200, ForumThreadSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List threads (latest activity, new or top), optionally in one category or with one tag."""
        category = services.get_category_or_404(args["category"], current_user) if args["category"] else None
        page = services.list_threads(current_user, category=category, tag=args["tag"], sort=args["sort"],
                                     page=pagination_parameters.page, per_page=pagination_parameters.page_size)
        pagination_parameters.item_count = page.total
        return page.items

    @blp.arguments(ForumThreadSchema)
    @blp.response(201, ForumThreadDetailSchema)
    @blp.alt_response(401, description="Not signed in")
    @blp.alt_response(422, description="Invalid fields")
    @blp.alt_response(429, description="Posting too fast (the message says when to try again)")
    def post(self, data):
        """Start a thread; people @mentioned in the body are notified."""
        user = signed_in_or_401()
        category = services.get_category_or_404(data["category"], user)
        return commit_or_rollback(lambda: services.create_thread(user, category, data["title"], data["body"],
                                                                  data["tags"] or []))


@blp.route("/threads/changes")
class ThreadChanges(MethodView):
    @blp.arguments(CursorQuerySchema, location="query")
    @blp.response(200, ForumThreadPageSchema)
    @blp.alt_response(422, description="Malformed updated_since or cursor")
    def get(self, args):
        """Threads you may see changed since a time (new replies, edits, moderation), oldest change first."""
        from community.models import Thread

        # The page serialises each thread's category, tags and author: load them together, not row by row.
        stmt = services.threads_visible_to(current_user).options(
            selectinload(Thread.tags), selectinload(Thread.author), selectinload(Thread.category))
        return keyset_page(stmt, Thread.updated_at, Thread.id, args)


@blp.route("/threads/<int:thread_id>")
class ThreadResource(MethodView):
    @blp.response(200, ForumThreadDetailSchema)
    @blp.alt_response(404, description="No such thread (or not visible to you)")
    def get(self, thread_id):
        """One thread with its replies (deleted replies come back without a body)."""
        return services.get_thread_or_404(thread_id, current_user)

    @blp.arguments(ForumThreadEditSchema)
    @blp.response(200, ForumThreadDetailSchema)
    @blp.alt_response(403, description="Only the author or staff")
    def put(self, data, thread_id):
        """Edit the thread's title, body and tags (the author or staff; earlier versions are kept)."""
        user = signed_in_or_401()
        thread = services.get_thread_or_404(thread_id, user)
        return commit_or_rollback(lambda: services.edit_thread(user, thread, data["title"], data["body"], data["tags"]))


@blp.route("/replies/<int:reply_id>")
class ReplyResource(MethodView):
    @blp.arguments(ForumReplyEditSchema)
    @blp.response(200, ForumReplySchema)
    @blp.alt_response(403, description="Only the author or staff")
    @blp.alt_response(404, description="No such reply")
    def put(self, data, reply_id):
        """Edit a reply (the author or staff; earlier versions are kept)."""
        user = signed_in_or_401()
        reply = services.get_reply_or_404(reply_id, user)
        return commit_or_rollback(lambda: services.edit_reply(user, reply, data["body"]))


@blp.route("/replies/<int:reply_id>/like")
class ReplyLikeResource(MethodView):
    @blp.response(200, LikeStateSchema)
    @blp.alt_response(403, description="Your own reply")
    def post(self, reply_id):
        """Like a reply, or take your like back."""
        user = signed_in_or_401()
        reply = services.get_reply_or_404(reply_id, user)
        liked = commit_or_rollback(lambda: services.toggle_like(user, reply))
        return {"reply_id": reply.id, "liked": liked, "like_count": reply.like_count}


@blp.route("/threads/<int:thread_id>/replies")
class Replies(MethodView):
    @blp.response(200, ForumReplySchema(many=True))
    def get(self, thread_id):
        """The thread's replies, oldest first."""
        return services.visible_replies(current_user, services.get_thread_or_404(thread_id, current_user))

    @blp.arguments(ForumReplySchema)
    @blp.response(201, ForumReplySchema)
    @blp.alt_response(403, description="The thread is locked")
    @blp.alt_response(429, description="Posting too fast")
    def post(self, data, thread_id):
        """Reply to a thread; open pages of the thread receive it live."""
        user = signed_in_or_401()
        thread = services.get_thread_or_404(thread_id, user)
        return commit_or_rollback(lambda: services.post_reply(user, thread, data["body"]))


@blp.route("/threads/<int:thread_id>/accept")
class Accept(MethodView):
    @blp.arguments(ForumAcceptSchema)
    @blp.response(200, ForumThreadSchema)
    @blp.alt_response(403, description="Only the thread's author or staff may accept")
    def post(self, data, thread_id):
        """Mark a reply as the accepted answer (or clear it with null); accepting another moves the mark."""
        user = signed_in_or_401()
        thread = services.get_thread_or_404(thread_id, user)
        if data["reply_id"] is None:
            commit_or_rollback(lambda: services.unaccept_answer(user, thread))
        else:
            reply = services.get_reply_or_404(data["reply_id"], user)
            commit_or_rollback(lambda: services.accept_answer(user, thread, reply))
        return thread
