"""The notification centre."""
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.extensions import db
from community.models import Notification
from community.notifications import bp, services


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html", notifications=services.recent(current_user.id))


@bp.post("/read")
@login_required
def read_all():
    services.mark_read(current_user.id)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    services.mark_read(current_user.id, notification_id)
    db.session.commit()
    link = note.link if note.link.startswith("/") and not note.link.startswith("//") else None
    return redirect(link or request.referrer or url_for("notifications.index"))
