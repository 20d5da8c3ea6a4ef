from flask import Blueprint

bp = Blueprint("ideas", __name__, url_prefix="/ideas")

from community.ideas import views  # noqa: E402,F401
