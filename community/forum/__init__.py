from flask import Blueprint

bp = Blueprint("forum", __name__, url_prefix="/forum")

from community.forum import views  # noqa: E402,F401
from community.forum import import_job  # noqa: E402,F401  (registers the job with the queue)
