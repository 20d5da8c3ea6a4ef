from flask_babel import gettext as _

from community.beta import bp
from community.placeholder import coming_soon


@bp.get("/")
def index():
    return coming_soon(_("Beta programs"), _("Join beta programs, try new features early and report what you find."))
