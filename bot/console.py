"""The staff console page (/support/console): the live side runs over the /console namespace."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user
from markupsafe import Markup

from bot import handoff
from bot.console_events import conversation_payload, queue_payload
from community.access import staff_required
from community.errors import NotFound

bp = Blueprint("support", __name__, url_prefix="/support")


@bp.get("/console")
@staff_required
def console():
    opened = None
    public_id = request.args.get("c")
    if public_id:
        try:
            opened = conversation_payload(handoff.get_conversation(current_user, public_id))["html"]
        except NotFound:
            opened = None
    # The same partials the socket acknowledgements carry; our templates escaped everything in them.
    return render_template("support/console.html", queue_html=Markup(queue_payload()["html"]),  # noqa: S704
                           opened_html=Markup(opened) if opened else None,  # noqa: S704
                           heartbeat_ms=handoff.HEARTBEAT_SECONDS * 1000)
