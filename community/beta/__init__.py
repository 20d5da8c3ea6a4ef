from flask import Blueprint

bp = Blueprint("beta", __name__, url_prefix="/beta")

from community.beta import views  # noqa: E402,F401
