"""What /api/v1/health reports: the database, Redis, the job queue and this process's index freshness."""
from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import text

from community.extensions import db


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check() or {}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **result}
    except Exception as exc:  # a health report names the failure instead of failing itself
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"}


def _redis_urls() -> list[str]:
    config = current_app.config
    urls = [config.get("SOCKETIO_MESSAGE_QUEUE") or "", config.get("COKNOW_JOBS_URL") or "",
            config.get("RATELIMIT_STORAGE_URI") or ""]
    return sorted({u for u in urls if u.startswith(("redis://", "rediss://", "unix://"))})


def _ping_redis(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return {}


def _jobs() -> dict[str, Any]:
    from community import jobs

    if jobs.huey.immediate:
        return {"backend": "inline"}
    return {"backend": type(jobs.huey.storage).__name__, "pending": jobs.huey.pending_count()}


def report() -> tuple[dict[str, Any], bool]:
    """The health report, and whether the process can serve (its database answers)."""
    from community import search

    database = _timed(lambda: db.session.execute(text("select 1")) and None)
    checks: dict[str, Any] = {"database": database}
    redis_urls = _redis_urls()
    checks["redis"] = ({"configured": False, "ok": True} if not redis_urls
                       else {"configured": True, **_merge([_timed(lambda u=u: _ping_redis(u)) for u in redis_urls])})
    checks["jobs"] = _timed(_jobs)
    checks["index"] = _timed(search.freshness) if database["ok"] else {"ok": False, "error": "no database"}
    healthy = all(c.get("ok") for c in checks.values())
    status = "ok" if healthy else ("degraded" if database["ok"] else "down")
    return {"status": status, "version": "v1", "checks": checks}, database["ok"]


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [r for r in results if not r.get("ok")]
    return failed[0] if failed else {"ok": True, "ms": max(r.get("ms", 0) for r in results)}
