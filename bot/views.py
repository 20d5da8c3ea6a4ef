from flask_babel import gettext as _

from bot import bp
from community.placeholder import coming_soon


@bp.get("/")
def page():
    return coming_soon(_("Chat with support"), _("Ask the support bot; it answers from the help center and cites its sources."))
