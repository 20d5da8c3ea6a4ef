"""Token and webhook pages; the API and webhook documentation."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from community.access import admin_required, staff_required
from community.api import tokens
from community.integrations import bp
from community.integrations.forms import ActionForm, TokenForm, WebhookForm
from community.models import TokenKind
from community.viewhelpers import run_service
from community.webhooks import EVENTS
from community.webhooks import services as webhooks
from community.webhooks.delivery import SIGNATURE_HEADER


def _scope_choices(user) -> list[SelectChoice]:
    labels = {"read": _("read"), "write": _("write")}
    out = []
    for scope in tokens.scopes_for(user):
        area, _sep, level = scope.partition(":")
        out.append(SelectChoice(scope, f"{tokens.AREAS[area].label} — {labels[level]}"))
    return out


def _event_choices() -> list[SelectChoice]:
    return [SelectChoice("*", _("Every event"))] + [SelectChoice(e.name, f"{e.name} — {e.description}")
                                                    for e in EVENTS.values() if e.name != webhooks.PING]


def _issue(form: TokenForm, kind: TokenKind) -> tokens.IssuedToken | None:
    expires = None if form.expires.data == "never" else int(form.expires.data)
    outcome = run_service(lambda: tokens.issue_token(current_user, form.name.data, form.scopes.data or [],
                                                     expires, kind), form)
    if outcome.ok:
        # An empty form for the next token: sending this one again must not make a twin.
        form.process(formdata=None)
    return outcome.value


def _no_store(response):
    # A page showing a secret once must not be kept by the browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- personal tokens

@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def my_tokens():
    form = TokenForm()
    form.scopes.choices = _scope_choices(current_user)
    issued = _issue(form, TokenKind.personal) if form.validate_on_submit() else None
    status = 422 if form.errors else 200
    page = render_template("integrations/tokens.html", form=form, issued=issued, rows=tokens.tokens_of(current_user),
                           action=ActionForm(), service=False)
    return _no_store(current_app.make_response((page, status)))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_my_token(token_id: int):
    return _revoke(token_id, "integrations.my_tokens")


def _revoke(token_id: int, back: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    row = tokens.get_manageable_token(token_id, current_user)
    if run_service(lambda: tokens.revoke_token(row, current_user)).value:
        flash(_("The token “%(name)s” is revoked: requests with it now get 401.", name=row.name), "success")
    return redirect(url_for(back))


# ---------------------------------------------------------------- staff: webhooks and service tokens

@bp.get("/integrations")
@staff_required
def index():
    form = WebhookForm()
    form.events.choices = _event_choices()
    return render_template("integrations/index.html", endpoints=webhooks.endpoints(), form=form,
                           action=ActionForm())


@bp.post("/integrations/webhooks")
@staff_required
def create_webhook():
    form = WebhookForm()
    form.events.choices = _event_choices()
    if form.validate_on_submit():
        endpoint = run_service(lambda: webhooks.create_endpoint(
            current_user, form.url.data, form.events.data, form.description.data or ""), form).value
        if endpoint is not None:
            page = render_template("integrations/webhook.html", endpoint=endpoint, secret=endpoint.secret,
                                   deliveries=[], form=_edit_form(endpoint), action=ActionForm())
            return _no_store(current_app.make_response((page, 201)))
    page = render_template("integrations/index.html", endpoints=webhooks.endpoints(), form=form, action=ActionForm())
    return page, 422


def _edit_form(endpoint) -> WebhookForm:
    form = WebhookForm(data={"url": endpoint.url, "description": endpoint.description, "events": endpoint.events})
    form.events.choices = _event_choices()
    return form


@bp.route("/integrations/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@staff_required
def webhook(endpoint_id: int):
    endpoint = webhooks.get_endpoint_or_404(endpoint_id)
    form = WebhookForm() if request.method == "POST" else _edit_form(endpoint)
    form.events.choices = _event_choices()
    status = 200
    if form.validate_on_submit() and run_service(lambda: webhooks.update_endpoint(
            current_user, endpoint, form.url.data, form.events.data, form.description.data or ""), form).ok:
        flash(_("The endpoint is saved."), "success")
        return redirect(url_for("integrations.webhook", endpoint_id=endpoint.id))
    if form.errors:
        status = 422
    return render_template("integrations/webhook.html", endpoint=endpoint, secret=None,
                           deliveries=webhooks.deliveries(endpoint), form=form, action=ActionForm()), status


@bp.post("/integrations/webhooks/<int:endpoint_id>/<any(ping, enable, pause, rotate, delete):what>")
@staff_required
def webhook_action(endpoint_id: int, what: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    endpoint = webhooks.get_endpoint_or_404(endpoint_id)
    if what == "ping":
        run_service(lambda: webhooks.ping(current_user, endpoint))
        flash(_("A test delivery is on its way; it appears below."), "success")
    elif what in ("enable", "pause"):
        run_service(lambda: webhooks.set_active(current_user, endpoint, what == "enable"))
        flash(_("The endpoint is enabled.") if what == "enable" else _("The endpoint is paused."), "success")
    elif what == "rotate":
        secret = run_service(lambda: webhooks.rotate_secret(current_user, endpoint)).value
        page = render_template("integrations/webhook.html", endpoint=endpoint, secret=secret,
                               deliveries=webhooks.deliveries(endpoint), form=_edit_form(endpoint),
                               action=ActionForm())
        return _no_store(current_app.make_response(page))
    else:
        run_service(lambda: webhooks.delete_endpoint(current_user, endpoint))
        flash(_("The endpoint and its delivery log are deleted."), "success")
        return redirect(url_for("integrations.index"))
    return redirect(url_for("integrations.webhook", endpoint_id=endpoint.id))


@bp.post("/integrations/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@staff_required
def resend(endpoint_id: int, delivery_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    endpoint = webhooks.get_endpoint_or_404(endpoint_id)
    delivery = webhooks.get_delivery_or_404(endpoint, delivery_id)
    if run_service(lambda: webhooks.resend(current_user, delivery)).ok:
        flash(_("The delivery is being sent again."), "success")
    return redirect(url_for("integrations.webhook", endpoint_id=endpoint.id))


@bp.route("/integrations/tokens", methods=["GET", "POST"])
@admin_required
def service_tokens():
    form = TokenForm()
    form.scopes.choices = _scope_choices(current_user)
    issued = _issue(form, TokenKind.service) if form.validate_on_submit() else None
    page = render_template("integrations/tokens.html", form=form, issued=issued, rows=tokens.service_tokens(),
                           action=ActionForm(), service=True)
    return _no_store(current_app.make_response((page, 422 if form.errors else 200)))


@bp.post("/integrations/tokens/<int:token_id>/revoke")
@admin_required
def revoke_service_token(token_id: int):
    return _revoke(token_id, "integrations.service_tokens")


# ---------------------------------------------------------------- documentation

@bp.app_template_filter("api_type")
def _api_type(prop: dict) -> str:
    from community.api.docs import type_of

    return type_of(prop)


@bp.get("/developers/api")
def api_docs():
    from community.api.docs import operations

    spec, groups = operations(current_app)
    return render_template("integrations/api_docs.html", spec=spec, groups=groups, areas=tokens.AREAS)


@bp.get("/developers/webhooks")
def webhook_docs():
    return render_template("integrations/webhook_docs.html", events=EVENTS, header=SIGNATURE_HEADER)
