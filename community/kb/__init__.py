from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/help")

from community.kb import views  # noqa: E402,F401
