from flask_babel import gettext as _

from community.ideas import bp
from community.placeholder import coming_soon


@bp.get("/")
def index():
    return coming_soon(_("Ideas"), _("Share product ideas, vote on the ones you need and follow them to release."))
