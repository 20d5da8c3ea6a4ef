"""Webhooks: the event catalogue, emit_event (the hook services call), signed deliveries by jobs."""
from community.webhooks.events import EVENTS, emit_event, register_event

__all__ = ["EVENTS", "emit_event", "register_event"]
