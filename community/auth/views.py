"""Account pages: register, log in and out, profile, password."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from community import limits
from community.auth import bp, services, sessions
from community.auth.forms import ChangePasswordForm, LoginForm, ProfileForm, RegisterForm
from community.viewhelpers import form_status, run_service


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
    if form.validate_on_submit():
        def create_account():
            # New accounts per address: a script cannot mint accounts to escape the per-account limits.
            limits.consume(current_app.config["RATELIMIT_REGISTER"], "register", limits.client_address(),
                           message=_("Too many new accounts from your network. Please try again later."))
            user = services.register_user(form.email.data, form.display_name.data, form.password.data)
            sessions.start_session(user)
            return user

        done = run_service(create_account, form)
        if done.value is not None:
            login_user(done.value)
            flash(_("Welcome to the community, %(name)s!", name=done.value.display_name), "success")
            return redirect(_safe_next(url_for("auth.profile")))
    return render_template("auth/register.html", form=form), form_status()


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        def sign_in():
            # RateLimited (the 6th failure) goes on to the error page: 429 with Retry-After.
            user = services.authenticate(form.email.data, form.password.data, limits.client_address())
            if user is not None:
                sessions.start_session(user, remember=bool(form.remember.data))
            return user

        done = run_service(sign_in, form)
        if done.value is not None:
            login_user(done.value, remember=form.remember.data)
            return redirect(_safe_next(url_for("main.home")))
        flash(_("The e-mail or password is not correct."), "error")
    return render_template("auth/login.html", form=form), form_status()


@bp.post("/logout")
@login_required
def logout():
    # The server forgets the session: a copy of the cookie (or the remember cookie) no longer signs in.
    run_service(lambda: sessions.end_session(current_user))
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("main.home"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
    if form.validate_on_submit() and run_service(
            lambda: services.update_profile(current_user, form.display_name.data, form.locale.data), form).ok:
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form, user=current_user), form_status()


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit() and run_service(
            lambda: services.change_password(current_user, form.current_password.data, form.new_password.data), form).ok:
        flash(_("Your password is changed."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/password.html", form=form), form_status()
