"""Knowledge about customers: staff pages (/customers) and the public side (contribution, privacy)."""
from flask import Blueprint

bp = Blueprint("customers", __name__, url_prefix="/customers")
# Public and self-service pages: profiles, top contributors, the data export and account deletion.
people_bp = Blueprint("people", __name__)

from community.customers import public, views  # noqa: E402, F401
