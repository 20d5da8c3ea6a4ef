from flask_babel import gettext as _

from community.access import staff_required
from community.insights import bp
from community.placeholder import coming_soon


@bp.get("/")
@staff_required
def index():
    return coming_soon(_("Insights"), _("Themes, trends, duplicates and the knowledge scorecard mined from the community."))
