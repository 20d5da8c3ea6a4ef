"""Sending webhook deliveries: signed POSTs by the job queue, retried with exponential back-off.

Every delivery carries `CoKnow-Signature: t=<unix seconds>,v1=<hex>` where v1 is
HMAC-SHA256(endpoint secret, "<t>.<body>"), so a receiver can check the body came from us and is
fresh (see /developers/webhooks). A try that does not end in a 2xx answer is retried after
COKNOW_WEBHOOK_RETRY_SECONDS, then twice that, and so on, up to COKNOW_WEBHOOK_MAX_ATTEMPTS tries;
an endpoint whose last COKNOW_WEBHOOK_DISABLE_AFTER deliveries all failed is disabled and staff are told.
"""
from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.extensions import db
from community.jobs import job, start_job
from community.models import DeliveryState, Role, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from community.models.base import utcnow

SIGNATURE_HEADER = "CoKnow-Signature"
USER_AGENT = "CoKnow-Webhooks/1"


def sign(secret: str, timestamp: int, body: str) -> str:
    """The v1 signature of body sent at timestamp: hex HMAC-SHA256 over "<timestamp>.<body>"."""
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str, timestamp: int | None = None) -> str:
    """The CoKnow-Signature header value for body, signed now (or at timestamp)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: str, tolerance: int = 300, now: float | None = None) -> bool:
    """A receiver's check (the one the documentation shows): right key, right body, sent recently."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), parts.get("v1", ""))


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def queue_delivery(delivery: WebhookDelivery, delay: float | None = None) -> WebhookDelivery:
    """Store a delivery and enqueue its next try once the caller commits; flushes."""
    delivery.next_attempt_at = utcnow() + timedelta(seconds=delay or 0)
    db.session.add(delivery)
    db.session.flush()
    start_job(deliver, delay=delay, delivery_id=delivery.id)
    return delivery


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A receiver that redirects has moved: the delivery fails and says so, rather than following blindly.
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: str, headers: dict[str, str], timeout: float) -> tuple[int | None, str]:
    """POST body; (status code, error text) — status None when the receiver could not be reached."""
    if not url.startswith(("http://", "https://")):  # check_url allows nothing else; never file: or ftp:
        return None, "Only http and https addresses are sent to."
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:500]


def attempt(delivery: WebhookDelivery) -> WebhookAttempt:
    """Try delivery once and record the outcome: delivered, retried later, or failed for good. Flushes."""
    endpoint = delivery.endpoint
    number = delivery.attempts + 1
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "CoKnow-Event": delivery.event,
        "CoKnow-Event-Id": delivery.event_id,
        "CoKnow-Delivery": str(delivery.id),
        SIGNATURE_HEADER: signature_header(endpoint.secret, delivery.body),
    }
    started = time.monotonic()
    status, error = post(endpoint.url, delivery.body, headers, _setting("COKNOW_WEBHOOK_TIMEOUT", 10))
    log = WebhookAttempt(delivery_id=delivery.id, number=number, at=utcnow(), status=status, error=error,
                         duration_ms=int((time.monotonic() - started) * 1000))
    db.session.add(log)
    delivery.attempts = number
    delivery.last_status = status
    delivery.last_error = error
    if status is not None and 200 <= status < 300:
        delivery.state = DeliveryState.delivered
        delivery.delivered_at = log.at
        delivery.next_attempt_at = None
        endpoint.consecutive_failures = 0
    elif number < _setting("COKNOW_WEBHOOK_MAX_ATTEMPTS", 8):
        # Exponential back-off: base, 2 x base, 4 x base... between tries.
        queue_delivery(delivery, delay=_setting("COKNOW_WEBHOOK_RETRY_SECONDS", 60) * 2 ** (number - 1))
    else:
        delivery.state = DeliveryState.failed
        delivery.next_attempt_at = None
        _count_failure(endpoint)
    db.session.flush()
    return log


def _count_failure(endpoint: WebhookEndpoint) -> None:
    endpoint.consecutive_failures += 1
    if endpoint.active and endpoint.consecutive_failures >= _setting("COKNOW_WEBHOOK_DISABLE_AFTER", 5):
        disable_endpoint(endpoint, _("Its last %(n)d deliveries failed after every retry.",
                                     n=endpoint.consecutive_failures))


def endpoint_link(endpoint: WebhookEndpoint) -> str:
    """The endpoint's staff page, site-relative (works in jobs, outside requests)."""
    return f"/integrations/webhooks/{endpoint.id}"


def disable_endpoint(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to endpoint and tell staff why (pending retries stop too). Flushes."""
    from community.notifications.services import notify

    endpoint.active = False
    endpoint.disabled_at = utcnow()
    endpoint.disabled_reason = reason[:300]
    staff = db.session.scalars(select(User.id).where(User.role.in_([Role.staff, Role.admin]),
                                                     User.active.is_(True)))
    notify(list(staff), "webhook.disabled", _l("A webhook endpoint was disabled: %(url)s", url=endpoint.url),
           link=endpoint_link(endpoint), body=reason)
    db.session.flush()


@job("webhooks.deliver")
def deliver(job_id: int, delivery_id: int) -> dict:
    """The queue's job: one try of one delivery (idempotent: a finished delivery is left alone)."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state is not DeliveryState.pending:
        return {"skipped": True}
    if not delivery.endpoint.active:
        delivery.state = DeliveryState.failed
        delivery.last_error = "The endpoint is disabled."
        delivery.next_attempt_at = None
        db.session.commit()
        return {"skipped": True}
    log = attempt(delivery)
    db.session.commit()
    return {"attempt": log.number, "status": log.status, "state": delivery.state.value}
