"""Abuse limits: Flask-Limiter for routes, and counted limits that services and channels consume.

Counters live in memory by default (one process); COKNOW_RATELIMIT_STORAGE_URL=redis://... shares them
between processes. Limits count by signed-in account and by address, so a cookie-less client gets no
fresh allowance per conversation and one person gets no fresh allowance per tab.
"""
from __future__ import annotations

import math
import time

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_login import current_user
from limits import parse

from community.errors import RateLimited


def client_address() -> str:
    """The caller's address (set ProxyFix in front when a proxy is the direct peer)."""
    return (request.remote_addr if has_request_context() else None) or "unknown"


def user_or_address() -> str:
    """Flask-Limiter's key: the account when signed in, else the address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{client_address()}"


limiter = Limiter(key_func=user_or_address, default_limits=[], headers_enabled=True)


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True)) and limiter.initialized


def retry_after(limit: str, scope: str, key: str) -> int | None:
    """Seconds until key may act again under limit, or None while it still may."""
    if not _enabled():
        return None
    item = parse(limit)
    if limiter.limiter.test(item, scope, key):
        return None
    reset, _remaining = limiter.limiter.get_window_stats(item, scope, key)
    return max(1, math.ceil(reset - time.time()))


def record(limit: str, scope: str, *keys: str) -> None:
    """Count one event against limit for each key (whether or not it is now over)."""
    if not _enabled():
        return
    item = parse(limit)
    for key in keys:
        limiter.limiter.hit(item, scope, key)


def consume(limit: str, scope: str, *keys: str, message: str | None = None) -> None:
    """Count one event for each key, or raise RateLimited (nothing counted) when one is used up."""
    waits = [w for w in (retry_after(limit, scope, key) for key in keys) if w]
    if waits:
        wait = max(waits)
        raise RateLimited(message or _("Too many requests. Please try again in %(s)d seconds.", s=wait),
                          retry_after=wait)
    record(limit, scope, *keys)


def actor_keys(user) -> tuple[str, ...]:
    """Count by account and by address: either running out stops the caller."""
    keys = [f"addr:{client_address()}"]
    if user is not None and getattr(user, "is_authenticated", False):
        keys.append(f"user:{user.id}")
    return tuple(keys)
