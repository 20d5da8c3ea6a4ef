from flask_babel import gettext as _

from community.forum import bp
from community.placeholder import coming_soon


@bp.get("/")
def index():
    return coming_soon(_("Forum"), _("Ask the community, answer others and find threads that solved your problem."))
