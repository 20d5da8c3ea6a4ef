"""JSON API for users and profiles: public profiles for everyone, the full list for staff, your own profile."""
from __future__ import annotations

from flask import abort
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from community.api import Contains, NOT_BLANK
from community.api.cursor import CursorQuerySchema, keyset_page, page_schema
from community.auth import services
from community.errors import Forbidden
from community.extensions import db
from community.models import Role, User
from community.viewhelpers import commit_or_rollback, signed_in_or_401

blp = Blueprint("api_users", __name__, url_prefix="/users", description="Users and profiles")


def _sees_private(user: User) -> bool:
    return current_user.is_authenticated and (current_user.is_staff or current_user.id == user.id)


class ProfileSchema(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    initials = fields.String(required=True)
    member_since = fields.DateTime(attribute="created_at", required=True)
    staff = fields.Function(lambda u: u.is_staff, required=True, metadata={"description": "answers officially"})
    # Only staff and the person themselves see these; null for everyone else.
    email = fields.Method("_email", allow_none=True, metadata={"description": "staff and yourself only"})
    role = fields.Method("_role", allow_none=True, metadata={"enum": [r.value for r in Role]})
    locale = fields.Method("_locale", allow_none=True)
    updated_at = fields.Method("_updated", allow_none=True)

    def _email(self, user: User) -> str | None:
        return user.email if _sees_private(user) else None

    def _role(self, user: User) -> str | None:
        return user.role.value if _sees_private(user) else None

    def _locale(self, user: User) -> str | None:
        return user.locale if _sees_private(user) else None

    def _updated(self, user: User) -> str | None:
        return user.updated_at.isoformat() if _sees_private(user) and user.updated_at else None


ProfilePageSchema = page_schema(ProfileSchema, "ProfilePage")


class UserQuerySchema(CursorQuerySchema):
    role = fields.String(load_default=None, validate=validate.OneOf([r.value for r in Role]))


class ProfileChangeSchema(Schema):
    display_name = fields.String(required=True, validate=Contains(NOT_BLANK))
    locale = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["en", "zh"]))


@blp.route("")
class Users(MethodView):
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, ProfilePageSchema)
    @blp.alt_response(403, description="Staff only")
    def get(self, args):
        """Every account in order of its last change, cursor-paged (staff): for syncing into a CRM."""
        viewer = signed_in_or_401()
        if not viewer.is_staff:
            raise Forbidden(_("Only staff can list accounts."))
        stmt = select(User)
        if args["role"]:
            stmt = stmt.where(User.role == Role(args["role"]))
        return keyset_page(stmt, User.updated_at, User.id, args)


@blp.route("/me")
class MyProfile(MethodView):
    @blp.arguments(ProfileChangeSchema)
    @blp.response(200, ProfileSchema)
    @blp.alt_response(401, description="Not signed in")
    @blp.alt_response(422, description="Invalid display name or locale")
    def patch(self, data):
        """Change your display name and language."""
        user = signed_in_or_401()
        commit_or_rollback(lambda: services.update_profile(user, data["display_name"], data["locale"]))
        return user


@blp.route("/<int:user_id>")
class Profile(MethodView):
    @blp.response(200, ProfileSchema)
    @blp.alt_response(404, description="No such account")
    def get(self, user_id):
        """A public profile (staff and the person see the e-mail and role too)."""
        user = db.session.get(User, user_id)
        if user is None or not (user.active or (current_user.is_authenticated and current_user.is_staff)):
            abort(404, description=_("There is no such account."))
        return user
