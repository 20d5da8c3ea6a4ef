from flask_babel import gettext as _

from community.access import staff_required
from community.customers import bp
from community.placeholder import coming_soon


@bp.get("/")
@staff_required
def index():
    return coming_soon(_("Customers"), _("Each customer's profile, timeline of ideas, votes, posts and chats, and value segment."))
