from flask import Blueprint

bp = Blueprint("forum", __name__, url_prefix="/forum")

from community.forum import views  # noqa: E402,F401
