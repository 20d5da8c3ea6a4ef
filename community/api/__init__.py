"""The JSON API under /api/v1: flask-smorest blueprints with marshmallow schemas.

Every feature adds its own smorest Blueprint and lists it in API_BLUEPRINTS;
the OpenAPI document is served at /api/v1/openapi.json.
"""
from __future__ import annotations

from flask import Flask, abort, request
from flask_smorest import Api, Blueprint

from community.extensions import csrf

API_PREFIX = "/api/v1"


class CoKnowApi(Api):
    """Api whose errors follow the site-wide JSON error shape (community.errors)."""

    def _register_error_handlers(self) -> None:
        # community.errors renders every error, JSON under /api/ and HTML elsewhere.
        return None


def _require_json_body() -> None:
    """Refuse form posts to the API: only JSON may change state.

    The API is exempt from CSRF tokens so scripts can call it; a cross-site
    form cannot send application/json without a CORS preflight, which we never grant.
    """
    if not request.path.startswith(API_PREFIX + "/"):
        return
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.content_length and not request.is_json:
        abort(415, description="Send the request body as application/json.")


def create_api(app: Flask) -> CoKnowApi:
    """Attach the API to app and register the community features' API blueprints."""
    from community.api.system import blp as system_blp
    from community.forum.api import blp as forum_blp
    from community.ideas.api import blp as ideas_blp

    api = CoKnowApi(app, spec_kwargs={"info": {"description": "CoKnow community and support bot API."}})
    for blp in (system_blp, ideas_blp, forum_blp):
        register_api_blueprint(api, blp)
    app.before_request(_require_json_body)
    return api


def register_api_blueprint(api: CoKnowApi, blp: Blueprint) -> None:
    """Mount one feature's API blueprint under /api/v1 (create_app adds the bot's this way)."""
    csrf.exempt(blp)
    api.register_blueprint(blp, url_prefix=API_PREFIX + (blp.url_prefix or ""))
