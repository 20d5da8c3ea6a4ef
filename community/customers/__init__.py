from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/customers")

from community.customers import views  # noqa: E402,F401
