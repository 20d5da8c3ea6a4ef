"""Account pages: register, log in and out, profile, password."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from community import limits
from community.auth import bp, services, sessions
from community.auth.forms import ChangePasswordForm, LoginForm, ProfileForm, RegisterForm
from community.errors import DomainError, RateLimited
from community.extensions import db
from community.viewhelpers import show_form_error


def _safe_next(default: str) -> str:
    target = request.args.get("next", "")
    parts = urlsplit(target)
    # Only same-site paths: an open redirect would make phishing links look like ours.
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default



@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = RegisterForm()
    headers = {}
    if form.validate_on_submit():
        try:
            # New accounts per address: a script cannot mint accounts to escape the per-account limits.
            limits.consume(current_app.config["RATELIMIT_REGISTER"], "register", limits.client_address(),
                           message=_("Too many new accounts from your network. Please try again later."))
            user = services.register_user(form.email.data, form.display_name.data, form.password.data)
            sessions.start_session(user)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_form_error(error, form)
            if isinstance(error, RateLimited):
                headers["Retry-After"] = str(error.retry_after or 60)
                return render_template("auth/register.html", form=form), 429, headers
        else:
            login_user(user)
            flash(_("Welcome to the community, %(name)s!", name=user.display_name), "success")
            return redirect(_safe_next(url_for("auth.profile")))
    status = 400 if form.errors or request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, limits.client_address())
            if user is not None:
                sessions.start_session(user, remember=bool(form.remember.data))
            db.session.commit()
        except RateLimited as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(error.retry_after or 60)}
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(url_for("main.home")))
        flash(_("The e-mail or password is not correct."), "error")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    # The server forgets the session: a copy of the cookie (or the remember cookie) no longer signs in.
    sessions.end_session(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit():
        try:
            services.update_profile(current_user, form.display_name.data, form.locale.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_form_error(error, form)
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, user=current_user)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.new_password.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_form_error(error, form)
        else:
            flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form)
