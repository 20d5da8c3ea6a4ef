"""The JSON API under /api/v1: flask-smorest blueprints with marshmallow schemas.

Every feature adds its own smorest Blueprint and lists it in API_BLUEPRINTS;
the OpenAPI document is served at /api/v1/openapi.json.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_smorest import Api, Blueprint

from community.extensions import csrf
from community.limits import limiter

API_PREFIX = "/api/v1"


class CoKnowApi(Api):
    """Api whose errors follow the site-wide JSON error shape (community.errors)."""

    def _register_error_handlers(self) -> None:
        # community.errors renders every error, JSON under /api/ and HTML elsewhere.
        return None


def create_api(app: Flask) -> CoKnowApi:
    """Attach the API to app and register every feature's API blueprint."""
    from community.api.system import blp as system_blp

    api = CoKnowApi(app, spec_kwargs={"info": {"description": "CoKnow community and support bot API."}})
    for blp in [system_blp, *extra_blueprints()]:
        # Not the form CSRF check: community.security.check_api_intent wants the token in a header.
        csrf.exempt(blp)
        # Every API call counts against the caller's allowance (account when signed in, else address).
        limiter.limit(lambda: current_app.config["RATELIMIT_API"])(blp)
        api.register_blueprint(blp, url_prefix=API_PREFIX + (blp.url_prefix or ""))
    return api


def extra_blueprints() -> list[Blueprint]:
    """Feature API blueprints; each feature appends its import here."""
    from bot.api import blp as chat_blp
    from community.forum.api import blp as forum_blp
    from community.ideas.api import blp as ideas_blp

    return [chat_blp, ideas_blp, forum_blp]
