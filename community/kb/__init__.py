from flask import Blueprint

bp = Blueprint("kb", __name__, url_prefix="/help")

from community.kb import views  # noqa: E402,F401
from community.kb import manage  # noqa: E402,F401
