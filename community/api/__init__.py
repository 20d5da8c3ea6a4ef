"""The JSON API under /api/v1: flask-smorest blueprints with marshmallow schemas.

Every feature adds its own smorest Blueprint and lists it in API_BLUEPRINTS;
the OpenAPI document is served at /api/v1/openapi.json.
"""
from __future__ import annotations

from flask import Flask, current_app, request
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import Schema, ValidationError, fields, validate

from community import limits
from community.database import MAX_ROW_ID
from community.tags import MAX_TAG, MAX_TAGS
from community.extensions import csrf
from community.viewhelpers import RowIdConverter

API_PREFIX = "/api/v1"


# Patterns for text fields, so the document says what the services accept. They mean the same in
# Python's re and in JSON Schema's ECMA regexes: Python also counts \x1c-\x1f and \x85 as spaces when it strips.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


def at_least(n: int) -> str:
    """A pattern for text that keeps at least n characters once its ends are stripped (n >= 2)."""
    return f"{NOT_BLANK}.{{{n - 2},}}{NOT_BLANK}"


class Contains(validate.Regexp):
    """A pattern the text must contain somewhere, as JSON Schema's "pattern" means it.

    marshmallow's Regexp anchors at the start (re.match), so a title with a leading control character
    that the document allows would be refused; the API and its document must agree.
    """

    def __call__(self, value):
        if self.regex.search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def tag_list(**kwargs) -> fields.List:
    """A list of tag names, limited as community.tags limits them, so the document says what is accepted."""
    return fields.List(fields.String(validate=validate.Length(max=MAX_TAG)), validate=validate.Length(max=MAX_TAGS),
                       **kwargs)


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable, e.g. validation_error"})
    message = fields.String(required=True, metadata={"description": "for people, in the visitor's language"})
    field_errors = fields.Dict(keys=fields.String(), required=True, data_key="fields",
                               metadata={"description": "messages per field name (empty when no field is at fault)"})


class ErrorSchema(Schema):
    """The one error body of the API (community.errors.error_body)."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint, documenting X-Pagination as what it is on the wire: a JSON string."""

    def _document_pagination_metadata(self, spec, resp_doc):
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata as a JSON object: total, total_pages, first_page, last_page, "
                           "page, previous_page, next_page",
            "schema": {"type": "string"},
        }


class CoKnowApi(Api):
    """Api whose errors follow the site-wide JSON error shape (community.errors)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # community.errors renders every error, JSON under /api/ and HTML elsewhere.
        return None


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
    api.register_converter(RowIdConverter, lambda converter: {"type": "integer", "minimum": 0, "maximum": MAX_ROW_ID})
    for blp in (system_blp, ideas_blp, forum_blp, kb_blp, notifications_blp, users_blp, insights_blp, customers_blp, beta_blp):
        register_api_blueprint(api, blp)
    app.before_request(_count_api_call)
    tokens.init_app(app)
    app.extensions["coknow.api"] = api  # the API reference page renders its spec
    return api


def _count_api_call() -> None:
    """Every API call counts against the caller's allowance: the account when signed in, else the address."""
    if request.path.startswith(API_PREFIX + "/") and not request.path.endswith("/openapi.json"):
        limits.consume(current_app.config["RATELIMIT_API"], "api", limits.user_or_address())


def register_api_blueprint(api: CoKnowApi, blp: Blueprint) -> None:
    """Mount one feature's API blueprint under /api/v1 (create_app adds the bot's this way)."""
    # Not the form CSRF check: community.security.check_api_intent wants the token in a header.
    csrf.exempt(blp)
    api.register_blueprint(blp, url_prefix=API_PREFIX + (blp.url_prefix or ""))
