"""Pages for integrations: personal API tokens, service tokens and webhooks (staff), and the developer docs."""
from flask import Blueprint

bp = Blueprint("integrations", __name__)

from community.integrations import views  # noqa: E402,F401
