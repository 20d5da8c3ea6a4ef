from flask import Blueprint

bp = Blueprint("insights", __name__, url_prefix="/insights")

from community.insights import jobs, views  # noqa: E402,F401
