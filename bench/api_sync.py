"""Incremental sync through the API: every idea and thread changed since a time, fetched with a token.

    .venv/bin/python bench/api_sync.py [--ideas 5000] [--threads 5000] [--changed 0.5] [--limit 200]
    .venv/bin/python bench/api_sync.py --url http://127.0.0.1:5000 --token ckn_... --since 2026-01-01T00:00:00Z

Self-contained by default: a fresh SQLite database in a temporary folder, migrated, filled with
--ideas ideas and --threads forum threads (rows written directly: this measures the API, not
submission), a share (--changed) of them changed after the sync point; a personal token with
ideas:read and forum:read; the app served over real HTTP on a loopback port by a werkzeug thread.
The client follows next_cursor on /api/v1/ideas/changes and /api/v1/forum/threads/changes until
it is null, checks it got exactly the changed rows, and prints items per second (JSON parsing
included). With --url and --token it syncs from a running server instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, UTC
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PATHS = {"ideas": "/api/v1/ideas/changes", "threads": "/api/v1/forum/threads/changes"}


def sync(base: str, token: str, path: str, since: str, limit: int) -> tuple[int, int, float]:
    """Follow the cursor to the end; (items, requests, seconds)."""
    items = requests = 0
    cursor = None
    started = time.perf_counter()
    while True:
        query = {"updated_since": since, "limit": limit, **({"cursor": cursor} if cursor else {})}
        request = urllib.request.Request(f"{base}{path}?{urllib.parse.urlencode(query)}",  # noqa: S310 (http only)
                                         headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            page = json.loads(response.read())
        requests += 1
        items += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items, requests, time.perf_counter() - started


def build(ideas: int, threads: int, changed: float, folder: Path):
    """A migrated SQLite app with the rows, a token, the sync point and the expected counts."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from community import create_app
    from community.api.tokens import issue_token
    from community.auth.services import register_user
    from community.extensions import db
    from community.models import ForumCategory, Idea, IdeaStatus, Thread

    url = f"sqlite:///{folder / 'bench.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COKNOW_INSTANCE_DIR": str(folder),
                      "COKNOW_JOBS_URL": "immediate"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        user = register_user("bench@example.com", "Bench Reader", "correct horse battery")
        category = ForumCategory(slug="general", name="General", position=0)
        db.session.add(category)
        db.session.flush()
        now = datetime.now(UTC)
        since = now - timedelta(hours=1)
        old, new = now - timedelta(days=3), now - timedelta(minutes=30)
        n_ideas, n_threads = int(ideas * changed), int(threads * changed)
        db.session.execute(insert(Idea), [
            {"title": f"Idea {i}: export notes to another format", "body": "Body " * 40, "author_id": user.id,
             "tags": ["export"], "status": IdeaStatus.open, "created_at": old,
             "updated_at": new + timedelta(milliseconds=i) if i < n_ideas else old}
            for i in range(ideas)])
        db.session.execute(insert(Thread), [
            {"title": f"Thread {i}: how do I sync between devices?", "body": "Body " * 40, "author_id": user.id,
             "category_id": category.id, "created_at": old, "last_activity_at": old,
             "updated_at": new + timedelta(milliseconds=i) if i < n_threads else old}
            for i in range(threads)])
        token = issue_token(user, "bench", ["ideas:read", "forum:read"], 1).secret
        db.session.commit()
    return app, token, since.isoformat(), {"ideas": n_ideas, "threads": n_threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--changed", type=float, default=0.5, help="share of rows changed after the sync point")
    parser.add_argument("--limit", type=int, default=200, help="items per page (at most 500)")
    parser.add_argument("--url", help="sync from this running server instead of a built one")
    parser.add_argument("--token", help="with --url: an API token holding ideas:read and forum:read")
    parser.add_argument("--since", help="with --url: the sync point (ISO 8601)")
    args = parser.parse_args()

    expected: dict[str, int] | None = None
    server = None
    if args.url:
        if not (args.token and args.since):
            parser.error("--url needs --token and --since")
        base, token, since = args.url.rstrip("/"), args.token, args.since
    else:
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per page would be timed too

        folder = Path(tempfile.mkdtemp(prefix="coknow-sync-"))
        print(f"building {args.ideas} ideas and {args.threads} threads ({args.changed:.0%} changed) in {folder}")
        app, token, since, expected = build(args.ideas, args.threads, args.changed, folder)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"

    total_items = 0
    total_seconds = 0.0
    for name, path in PATHS.items():
        items, requests, seconds = sync(base, token, path, since, args.limit)
        if expected is not None and items != expected[name]:
            raise SystemExit(f"{name}: got {items} items, expected {expected[name]}")
        total_items += items
        total_seconds += seconds
        print(f"{name:8s} {items:6d} items in {requests:4d} requests, {seconds:6.2f} s: "
              f"{items / seconds if seconds else 0:7.0f} items/s, {1000 * seconds / max(requests, 1):6.1f} ms/page")
    print(f"{'total':8s} {total_items:6d} items, {total_seconds:6.2f} s: "
          f"{total_items / total_seconds if total_seconds else 0:7.0f} items/s (page size {args.limit})")
    if server is not None:
        server.shutdown()


if __name__ == "__main__":
    main()
