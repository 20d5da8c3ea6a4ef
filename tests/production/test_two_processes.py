"""Production mode: two gunicorn processes on PostgreSQL and Redis behave as one site.

A reply posted through one process reaches a browser connected to the other, and an article published
elsewhere is answered by the bot of a process that was already running, within its sync interval.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from pathlib import Path

import pytest
import requests

from community.extensions import db
from community.forum import services as forum
from community.kb import services as kb
from community.models import ArticleStatus
from tests.production.stack import REDIS_URL, Process, redis_or_skip

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SYNC_SECONDS = 2
# Chat messages a minute from one address, counted in Redis for both processes together.
PER_ADDRESS = 4

pytestmark = pytest.mark.slow


def _process(name: str, database_url: str, instance: Path, limits_prefix: str) -> Process:
    return Process(name, database_url, instance, env={
        "SOCKETIO_MESSAGE_QUEUE": REDIS_URL,
        "COKNOW_RATELIMIT_STORAGE_URL": REDIS_URL,
        # This run's own counters: other runs (and other tests from 127.0.0.1) share the Redis.
        "COKNOW_RATELIMIT_KEY_PREFIX": limits_prefix,
        "COKNOW_CHAT_RATE_PER_ADDRESS": str(PER_ADDRESS),
        "COKNOW_INDEX_SYNC_SECONDS": str(SYNC_SECONDS),
        "SECRET_KEY": "two-processes-share-one-secret-key",
        "COKNOW_CONCURRENCY": "8",
    })


def _session(base: str, path: str = "/") -> tuple[requests.Session, str]:
    session = requests.Session()
    session.headers["Origin"] = base
    token = CSRF_META.search(session.get(base + path, timeout=10).text).group(1)
    return session, token


def _login(base: str, email: str, password: str = "correct horse battery") -> tuple[requests.Session, str]:
    session, token = _session(base, "/login")
    response = session.post(base + "/login", data={"email": email, "password": password, "csrf_token": token},
                            timeout=10, allow_redirects=False)
    assert response.status_code in (302, 303), response.text[:500]
    return session, CSRF_META.search(session.get(base + "/", timeout=10).text).group(1)


def _source(exchange: dict) -> dict:
    """The cited source of the bot's reply in a chat exchange ({} when it did not answer)."""
    engine = (exchange.get("reply") or {}).get("reply") or {}
    return engine.get("source") or {}


def _post_question(base: str, question: str) -> requests.Response:
    session, token = _session(base, "/chat/")
    return session.post(base + "/api/v1/chat/messages", json={"text": question},
                        headers={"X-CSRFToken": token}, timeout=30)


def _ask(base: str, question: str) -> dict:
    response = _post_question(base, question)
    assert response.status_code == 201, response.text[:500]
    return response.json()


def test_two_processes_share_live_replies_and_the_bots_knowledge(app, backend, database, create_user, tmp_path):
    if backend != "postgresql":
        pytest.skip("production mode runs on PostgreSQL")
    redis_or_skip()
    import socketio

    ana = create_user(email="ana@example.com", display_name="Ana Lima")
    create_user(email="ben@example.com", display_name="Ben Ode")
    category = forum.save_category(None, name="Questions", description="Ask anything")
    thread = forum.create_thread(ana, category, "Sync stops after the update", "Since 1.4 sync stops.")
    db.session.commit()
    thread_id = thread.id

    prefix = f"coknow-test-{secrets.token_hex(4)}"
    a, b = _process("a", database, tmp_path, prefix), _process("b", database, tmp_path, prefix)
    try:
        a.wait_ready()
        b.wait_ready()

        # A browser on process A watches the thread.
        arrived = threading.Event()
        payloads: list[dict] = []
        client = socketio.Client()

        @client.on("thread_reply", namespace="/live")
        def _reply(data):
            payloads.append(data)
            arrived.set()

        client.connect(a.base, namespaces=["/live"], transports=["websocket"])
        assert client.call("watch_thread", {"thread_id": thread_id}, namespace="/live", timeout=10) is not False

        # Ben replies through process B.
        session, token = _login(b.base, "ben@example.com")
        posted = session.post(f"{b.base}/forum/t/{thread_id}/reply",
                              data={"body": "Sign out and in again.", "csrf_token": token}, timeout=30,
                              allow_redirects=False)
        assert posted.status_code in (302, 303), posted.text[:500]
        assert arrived.wait(10), "the reply never reached the browser connected to the other process"
        assert payloads[0]["thread_id"] == thread_id and "Sign out and in again." in payloads[0]["html"]
        client.disconnect()

        # Process A's bot is warm and does not know about Kobo e-readers yet.
        question = "can I read my notebooks on a kobo e-reader"
        before = _ask(a.base, question)
        assert "Kobo" not in str(_source(before))

        # An article is published elsewhere (here: through this test's own app, on the same database).
        article = kb.create_article(
            "Read your notebooks on a Kobo e-reader",
            "Export the notebook as EPUB, connect the Kobo with USB and copy the file into its main folder.",
            questions=["can I put my notes on a kobo", "read tidepool notebooks on an e-reader"],
            status=ArticleStatus.published,
        )
        db.session.commit()
        published = time.monotonic()
        time.sleep(SYNC_SECONDS)
        after = _ask(a.base, question)
        waited = time.monotonic() - published
        assert _source(after).get("title") == article.title, (after.get("reply") or {}).get("reply")
        assert waited < SYNC_SECONDS + 5

        # The rate limit is shared: two questions went through A; B allows this address the rest of the
        # minute's PER_ADDRESS and refuses the next one, as A does now.
        for _ in range(PER_ADDRESS - 2):
            assert _post_question(b.base, "how do I reset my password").status_code == 201
        for process in (b, a):
            refused = _post_question(process.base, "how do I reset my password")
            assert refused.status_code == 429, refused.text[:500]
            assert int(refused.headers["Retry-After"]) > 0
    finally:
        a.stop()
        b.stop()
