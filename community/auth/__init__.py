from flask import Blueprint

bp = Blueprint("auth", __name__)

from community.auth import views  # noqa: E402,F401  (routes attach to bp)
