"""The notification centre, notification settings, one-click unsubscribe and the staff outbox."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from community.access import staff_required
from community.errors import DomainError
from community.extensions import csrf, db
from community.models import EmailStatus, Notification
from community.notifications import bp, outbox, preferences, services
from community.viewhelpers import commit_or_rollback, page_arg


@bp.get("/")
@login_required
def index():
    return render_template("notifications/index.html", notifications=services.recent(current_user.id))


@bp.post("/read")
@login_required
def read_all():
    commit_or_rollback(lambda: services.mark_read(current_user.id))
    return redirect(url_for("notifications.index"))


@bp.post("/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != current_user.id:
        abort(404)
    commit_or_rollback(lambda: services.mark_read(current_user.id, notification_id))
    link = note.link if note.link.startswith("/") and not note.link.startswith("//") else None
    return redirect(link or request.referrer or url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "GET":
        return _settings_page(preferences.preferences_of(current_user.id))
    # Checkboxes are named "<channel>:<group key>"; a ticked box is present, an unticked one absent.
    in_app = [name.partition(":")[2] for name in request.form if name.startswith("in_app:")]
    email = [name.partition(":")[2] for name in request.form if name.startswith("email:")]
    no_email = "no_email" in request.form
    try:
        commit_or_rollback(lambda: preferences.save_preferences(current_user.id, in_app, email, no_email))
    except DomainError as error:
        flash(error.message, "error")
        # Show what was sent, not what is stored, so nothing the user ticked is lost.
        submitted = preferences.UserPreferences(
            {g.key: preferences.Channels(g.key in in_app, g.key in email) for g in preferences.GROUPS}, no_email
        )
        return _settings_page(submitted, error.status)
    flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("notifications.settings"))


def _settings_page(prefs: preferences.UserPreferences, status: int = 200):
    return render_template("notifications/settings.html", groups=preferences.GROUPS, prefs=prefs), status


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    # Mail scanners open every link: GET only asks, POST acts.
    target = preferences.read_unsubscribe_token(token)
    return render_template("notifications/unsubscribe.html", target=target, token=token, done=False)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # the signed token is the authority; mail clients' one-click POST (RFC 8058) carries no form token
def unsubscribe_confirm(token: str):
    target = commit_or_rollback(lambda: preferences.unsubscribe(token))
    return render_template("notifications/unsubscribe.html", target=target, token=token, done=True)


@bp.get("/outbox")
@staff_required
def outbox_page():
    try:
        status = EmailStatus(request.args.get("status", ""))
    except ValueError:
        status = None
    page = page_arg()
    emails, has_next = outbox.recent_emails(page, status=status)
    return render_template("notifications/outbox.html", emails=emails, page=page, has_next=has_next,
                           status=status, statuses=list(EmailStatus))
