"""JSON API for ideas, votes, follows, comments and status changes (same services as the pages)."""
from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from community.api.cursor import CursorQuerySchema, keyset_page, page_schema
from community.api import NOT_BLANK, Blueprint, Contains, at_least, tag_list
from community.ideas import services
from community.models import Idea, IdeaStatus
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_ideas", __name__, url_prefix="/ideas", description="Ideas, votes, follows and comments")

STATUSES = [s.value for s in IdeaStatus]


class AuthorSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()


class IdeaSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=[Contains(at_least(services.MIN_TITLE)),
                                                   validate.Length(max=services.MAX_TITLE)],
                          metadata={"description": f"{services.MIN_TITLE}–{services.MAX_TITLE} characters"})
    body = fields.String(load_default="", validate=validate.Length(max=services.MAX_BODY),
                         metadata={"description": f"Markdown, at most {services.MAX_BODY} characters"})
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=services.MAX_CATEGORY))
    tags = tag_list(load_default=list)
    status = fields.Function(lambda i: i.status.value, dump_only=True, metadata={"enum": STATUSES})
    status_reason = fields.String(dump_only=True, allow_none=True)
    vote_count = fields.Integer(dump_only=True)
    follower_count = fields.Integer(dump_only=True)
    comment_count = fields.Integer(dump_only=True)
    author = fields.Nested(AuthorSchema, dump_only=True, allow_none=True)
    merged_into_id = fields.Integer(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    shipped_at = fields.DateTime(dump_only=True, allow_none=True)
    url = fields.Function(lambda i: services.idea_url(i), dump_only=True)


IdeaPageSchema = page_schema(IdeaSchema, "IdeaPage")


class IdeaQuerySchema(Schema):
    sort = fields.String(load_default="trending", validate=validate.OneOf(services.SORTS))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    category = fields.String(load_default=None)
    tag = fields.String(load_default=None)
    q = fields.String(load_default=None, metadata={"description": "words in the title or description"})


class IdeaSummarySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = fields.String()
    status_label = fields.String()
    vote_count = fields.Integer()
    follower_count = fields.Integer()
    url = fields.String()


class VoteStateSchema(Schema):
    """The one shape of a vote or follow result (the pages' fetch and the chat answer the same)."""

    idea = fields.Nested(IdeaSummarySchema)
    voted = fields.Boolean()
    following = fields.Boolean()
    changed = fields.Boolean(metadata={"description": "false when the request repeated the current state"})


class CommentSchema(Schema):
    id = fields.Integer(dump_only=True)
    body = fields.String(required=True, validate=[Contains(NOT_BLANK), validate.Length(max=services.MAX_COMMENT)],
                         metadata={"description": f"Markdown, at most {services.MAX_COMMENT} characters"})
    official = fields.Boolean(dump_only=True)
    author = fields.Nested(AuthorSchema, dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(dump_only=True, allow_none=True)


class IdeaEditSchema(Schema):
    title = fields.String(required=True, validate=[Contains(at_least(services.MIN_TITLE)),
                                                   validate.Length(max=services.MAX_TITLE)])
    body = fields.String(load_default="", validate=validate.Length(max=services.MAX_BODY))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=services.MAX_CATEGORY))
    tags = tag_list(load_default=list)


class MergeSchema(Schema):
    target_id = fields.Integer(required=True, strict=True, metadata={"description": "the idea that keeps the votes"})


class StatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = fields.String(load_default=None, allow_none=True, metadata={"description": "required for declined"})



def _state(idea: Idea, changed: bool) -> dict:
    return services.vote_state(current_user, idea, changed).to_dict()



@blp.route("")
class Ideas(MethodView):
    @blp.arguments(IdeaQuerySchema, location="query")
    @blp.response(200, IdeaSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """List unmerged ideas, filtered and sorted (trending, top, new, status)."""
        page = services.list_ideas(page=pagination_parameters.page, per_page=pagination_parameters.page_size, **args)
        pagination_parameters.item_count = page.total
        return page.items

    @blp.arguments(IdeaSchema)
    @blp.response(201, IdeaSchema)
    @blp.alt_response(401, description="Not signed in")
    @blp.alt_response(422, description="Invalid fields (empty title, description too long…)")
    def post(self, data):
        """Submit an idea; the author follows it."""
        user = signed_in_or_401()
        return commit_or_rollback(lambda: services.submit_idea(user, data["title"], data["body"], data["category"],
                                                                data["tags"]))


@blp.route("/changes")
class IdeaChanges(MethodView):
    @blp.arguments(CursorQuerySchema, location="query")
    @blp.response(200, IdeaPageSchema)
    @blp.alt_response(422, description="Malformed updated_since or cursor")
    def get(self, args):
        """Ideas changed since a time, oldest change first, merged ones included: for incremental sync."""
        return keyset_page(select(Idea).options(selectinload(Idea.author)), Idea.updated_at, Idea.id, args)


@blp.route("/<int:idea_id>")
class IdeaResource(MethodView):
    @blp.response(200, IdeaSchema)
    @blp.alt_response(404, description="No such idea")
    def get(self, idea_id):
        """One idea (a merged idea names the idea it was merged into)."""
        return services.get_idea_or_404(idea_id)

    @blp.arguments(IdeaEditSchema)
    @blp.response(200, IdeaSchema)
    @blp.alt_response(403, description="Staff, or the author while the idea is open")
    @blp.alt_response(409, description="The idea was merged")
    def put(self, data, idea_id):
        """Change the idea's text, category and tags."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        return commit_or_rollback(lambda: services.edit_idea(idea, user, data["title"], data["body"],
                                                              data["category"], data["tags"]))


@blp.route("/<int:idea_id>/merge")
class IdeaMerge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(200, IdeaSchema)
    @blp.alt_response(403, description="Staff only")
    @blp.alt_response(404, description="No such idea")
    def post(self, data, idea_id):
        """Merge this idea into another (staff): votes, followers and comments move; returns the target."""
        user, source, target = signed_in_or_401(), services.get_idea_or_404(idea_id), services.get_idea_or_404(data["target_id"])
        return commit_or_rollback(lambda: services.merge_ideas(source, target, user))


@blp.route("/<int:idea_id>/vote")
class IdeaVote(MethodView):
    @blp.response(200, VoteStateSchema)
    @blp.alt_response(409, description="Voting closed, or the idea was merged")
    def post(self, idea_id):
        """Vote for the idea; repeating is harmless."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        return _state(idea, commit_or_rollback(lambda: services.cast_vote(user, idea)))

    @blp.response(200, VoteStateSchema)
    def delete(self, idea_id):
        """Remove your vote."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        return _state(idea, commit_or_rollback(lambda: services.retract_vote(user, idea)))


@blp.route("/<int:idea_id>/follow")
class IdeaFollow(MethodView):
    @blp.response(200, VoteStateSchema)
    def post(self, idea_id):
        """Follow the idea without voting."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        return _state(idea, commit_or_rollback(lambda: services.follow_idea(user, idea)))

    @blp.response(200, VoteStateSchema)
    def delete(self, idea_id):
        """Stop following the idea."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        return _state(idea, commit_or_rollback(lambda: services.unfollow_idea(user, idea)))


@blp.route("/<int:idea_id>/comments")
class IdeaComments(MethodView):
    @blp.response(200, CommentSchema(many=True))
    def get(self, idea_id):
        """Visible comments, oldest first."""
        return services.comments(services.get_idea_or_404(idea_id))

    @blp.arguments(CommentSchema)
    @blp.response(201, CommentSchema)
    def post(self, data, idea_id):
        """Comment (Markdown, @mentions); staff comments are official."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        return commit_or_rollback(lambda: services.add_comment(idea, user, data["body"]))


@blp.route("/<int:idea_id>/status")
class IdeaStatusResource(MethodView):
    @blp.arguments(StatusChangeSchema)
    @blp.response(200, IdeaSchema)
    @blp.alt_response(403, description="Staff only")
    def post(self, data, idea_id):
        """Move the idea to a status (staff); voters and followers are notified."""
        user, idea = signed_in_or_401(), services.get_idea_or_404(idea_id)
        commit_or_rollback(lambda: services.change_status(idea, data["status"], user, data["reason"]))
        return idea
