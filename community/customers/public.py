"""Public contribution pages and the customer's own privacy controls (export, delete)."""
from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from community.customers import people_bp
from community.customers.services import contribution, privacy
from community.customers.forms import DeleteAccountForm
from community.extensions import db
from community.models import Idea, Reply, Role, Thread, User
from community.viewhelpers import form_status, run_service


@people_bp.get("/people/top")
def top_contributors():
    return render_template("customers/top.html", rows=contribution.top_contributors(),
                           rules=contribution.rules())


@people_bp.get("/people/<int:user_id>")
def profile(user_id: int):
    person = db.session.get(User, user_id)
    if person is None or person.is_deleted or person.role is not Role.customer:
        abort(404)
    counts = {
        "ideas": db.session.scalar(db.select(db.func.count()).select_from(Idea).where(
            Idea.author_id == person.id, Idea.merged_into_id.is_(None))) or 0,
        "threads": db.session.scalar(db.select(db.func.count()).select_from(Thread).where(
            Thread.author_id == person.id, Thread.deleted_at.is_(None), Thread.hidden.is_(False))) or 0,
        "replies": db.session.scalar(db.select(db.func.count()).select_from(Reply).where(
            Reply.author_id == person.id, Reply.deleted_at.is_(None), Reply.hidden.is_(False))) or 0,
    }
    return render_template("customers/profile.html", person=person, counts=counts,
                           contribution=contribution.contribution_of(person),
                           rules={r.key: r for r in contribution.rules()})


@people_bp.get("/account/export")
@login_required
def export():
    data = privacy.export_data(current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="coknow-data-{current_user.id}.json"',
        "Cache-Control": "no-store"})


@people_bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if run_service(lambda: privacy.delete_account(user, form.password.data), form).ok:
            logout_user()
            flash(_("Your account is deleted. What you posted in public stays, under an anonymous name."), "info")
            return redirect(url_for("main.home"))
    return render_template("customers/delete.html", form=form), form_status()
