"""The webhook event catalogue and emit_event, the one hook every feature calls to announce a change.

emit_event runs inside the service's transaction: the deliveries are written with the change itself
and their jobs are enqueued only after it commits, so an event goes out exactly when its change is
kept (a rolled-back change sends nothing, a committed one is never lost to a crash in between).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from community.extensions import db
from community.models import WebhookDelivery, WebhookEndpoint
from community.models.base import utcnow


@dataclass(frozen=True)
class EventKind:
    name: str
    description: object


EVENTS: dict[str, EventKind] = {}


def register_event(name: str, description: object) -> None:
    """Add an event to the catalogue (features that land later register theirs, e.g. beta reports)."""
    EVENTS[name] = EventKind(name, description)


for _name, _description in (
    ("ping", _l("A test delivery sent from the endpoint's page.")),
    ("idea.created", _l("An idea was submitted.")),
    ("idea.status_changed", _l("An idea moved to another status (planned, shipped, declined...).")),
    ("idea.merged", _l("An idea was merged into another; its votes moved with it.")),
    ("thread.created", _l("A forum thread was started.")),
    ("answer.accepted", _l("A reply was accepted as the answer to its thread.")),
    ("gap.created", _l("The bot met a question the help center does not answer (a new knowledge gap).")),
    ("gap.closed", _l("A knowledge gap was answered by an article or dismissed.")),
    ("article.published", _l("A help-center article was published.")),
    ("conversation.handed_off", _l("A customer asked the chat for a person from support.")),
):
    register_event(_name, _description)


def event_body(event: str, data: dict[str, Any]) -> tuple[str, str]:
    """The event's id and its JSON body, exactly as every receiver gets (and a signature covers) it."""
    event_id = str(uuid.uuid4())
    body = {"id": event_id, "event": event, "created_at": utcnow().isoformat(), "data": data}
    return event_id, json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)


def emit_event(event: str, data: dict[str, Any]) -> int:
    """Queue a signed delivery of event to every active endpoint that wants it; flushes, returns how many."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}: register it with register_event first")
    endpoints = [e for e in db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))
                 if e.wants(event)]
    if not endpoints:
        return 0
    from community.webhooks.delivery import queue_delivery

    event_id, body = event_body(event, data)
    for endpoint in endpoints:
        queue_delivery(WebhookDelivery(endpoint_id=endpoint.id, event=event, event_id=event_id, body=body))
    return len(endpoints)
