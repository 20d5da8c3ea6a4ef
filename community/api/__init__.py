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
    from community.api import tokens
    from community.api.system import blp as system_blp
    from community.auth.api import blp as users_blp
    from community.customers.api import blp as customers_blp
    from community.beta.api import blp as beta_blp
    from community.forum.api import blp as forum_blp
    from community.ideas.api import blp as ideas_blp
    from community.insights.api import blp as insights_blp
    from community.kb.api import blp as kb_blp
    from community.notifications.api import blp as notifications_blp

    api = CoKnowApi(app, spec_kwargs={"info": {"description": "CoKnow community and support bot API."}})
    api.spec.components.security_scheme("bearerToken", {
        "type": "http", "scheme": "bearer",
        "description": "An API token from /account/tokens (or a service token); its scopes limit what it reaches."})
    for blp in (system_blp, ideas_blp, forum_blp, kb_blp, notifications_blp, users_blp, insights_blp, customers_blp, beta_blp):
        register_api_blueprint(api, blp)
    app.before_request(_require_json_body)
    tokens.init_app(app)
    app.extensions["coknow.api"] = api  # the API reference page renders its spec
    return api


def register_api_blueprint(api: CoKnowApi, blp: Blueprint) -> None:
    """Mount one feature's API blueprint under /api/v1 (create_app adds the bot's this way)."""
    csrf.exempt(blp)
    api.register_blueprint(blp, url_prefix=API_PREFIX + (blp.url_prefix or ""))
