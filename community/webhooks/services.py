"""Managing webhook endpoints (staff): register, change, pause, re-enable, re-send, delete."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import func, select

from community.errors import Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import DeliveryState, User, WebhookDelivery, WebhookEndpoint
from community.webhooks.delivery import queue_delivery
from community.webhooks.events import EVENTS, event_body

MAX_URL = 500
MAX_DESCRIPTION = 200
PING = "ping"


def _require_staff(user: User) -> None:
    if not user.is_staff:
        raise Forbidden(_("Only staff manage webhooks."))


def check_url(url: str | None) -> str:
    """An absolute http(s) address without credentials, or a ValidationFailed naming the url field."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if not url or parts.scheme not in ("http", "https") or not parts.hostname:
        message = _("Enter the receiver's full address, starting with https://.")
        raise ValidationFailed(message, {"url": [message]})
    if len(url) > MAX_URL:
        message = _("The address is too long (at most %(n)d characters).", n=MAX_URL)
        raise ValidationFailed(message, {"url": [message]})
    if parts.username or parts.password:
        message = _("Leave credentials out of the address: check the signature instead.")
        raise ValidationFailed(message, {"url": [message]})
    return url


def check_events(events: list[str] | None) -> list[str]:
    """Known event names (or "*" for all), in catalogue order."""
    chosen = set(events or [])
    if "*" in chosen:
        return ["*"]
    unknown = sorted(chosen - EVENTS.keys())
    if unknown or not chosen:
        message = (_("Unknown events: %(e)s.", e=", ".join(unknown)) if unknown
                   else _("Choose at least one event."))
        raise ValidationFailed(message, {"events": [message]})
    return [name for name in EVENTS if name in chosen]


def new_secret() -> str:
    """A fresh signing secret."""
    return "whsec_" + secrets.token_urlsafe(32)


def create_endpoint(staff: User, url: str | None, events: list[str] | None, description: str = "") -> WebhookEndpoint:
    """Register a receiver for events; its secret is on the returned row (show it once). Flushes."""
    _require_staff(staff)
    endpoint = WebhookEndpoint(url=check_url(url), events=check_events(events),
                               description=" ".join((description or "").split())[:MAX_DESCRIPTION],
                               secret=new_secret(), created_by_id=staff.id)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def update_endpoint(staff: User, endpoint: WebhookEndpoint, url: str | None, events: list[str] | None,
                    description: str = "") -> WebhookEndpoint:
    """Change where and what an endpoint receives. Flushes."""
    _require_staff(staff)
    endpoint.url = check_url(url)
    endpoint.events = check_events(events)
    endpoint.description = " ".join((description or "").split())[:MAX_DESCRIPTION]
    db.session.flush()
    return endpoint


def rotate_secret(staff: User, endpoint: WebhookEndpoint) -> str:
    """Replace the signing secret (the old one stops verifying at once). Flushes."""
    _require_staff(staff)
    endpoint.secret = new_secret()
    db.session.flush()
    return endpoint.secret


def set_active(staff: User, endpoint: WebhookEndpoint, active: bool) -> None:
    """Pause or re-enable an endpoint; re-enabling forgets its failure streak. Flushes."""
    _require_staff(staff)
    endpoint.active = active
    if active:
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    else:
        endpoint.disabled_reason = _("Paused by %(name)s.", name=staff.display_name)
    db.session.flush()


def delete_endpoint(staff: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery log. Flushes."""
    _require_staff(staff)
    db.session.delete(endpoint)
    db.session.flush()


def resend(staff: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's exact body again, as a new delivery with its own tries (same event id). Flushes."""
    _require_staff(staff)
    if not delivery.endpoint.active:
        message = _("Re-enable the endpoint before re-sending to it.")
        raise ValidationFailed(message, {"endpoint": [message]})
    return queue_delivery(WebhookDelivery(endpoint_id=delivery.endpoint_id, event=delivery.event,
                                          event_id=delivery.event_id, body=delivery.body,
                                          resend_of_id=delivery.id))


def ping(staff: User, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a signed test event to one endpoint, whatever it subscribed to. Flushes."""
    _require_staff(staff)
    event_id, body = event_body(PING, {"endpoint_id": endpoint.id, "sent_by_id": staff.id})
    return queue_delivery(WebhookDelivery(endpoint_id=endpoint.id, event=PING, event_id=event_id, body=body))


def get_endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    """The endpoint, or NotFound."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("There is no such webhook endpoint."))
    return endpoint


def get_delivery_or_404(endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    """One of the endpoint's deliveries, or NotFound."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(_("There is no such delivery."))
    return delivery


def endpoints() -> list[tuple[WebhookEndpoint, int]]:
    """Every endpoint with its count of failed deliveries, newest first."""
    failed = (select(WebhookDelivery.endpoint_id, func.count().label("n"))
              .where(WebhookDelivery.state == DeliveryState.failed).group_by(WebhookDelivery.endpoint_id).subquery())
    rows = db.session.execute(select(WebhookEndpoint, func.coalesce(failed.c.n, 0))
                              .outerjoin(failed, failed.c.endpoint_id == WebhookEndpoint.id)
                              .order_by(WebhookEndpoint.id.desc()))
    return [(endpoint, int(n)) for endpoint, n in rows]


def deliveries(endpoint: WebhookEndpoint, limit: int = 100) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first."""
    return list(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                                   .order_by(WebhookDelivery.id.desc()).limit(limit)))
