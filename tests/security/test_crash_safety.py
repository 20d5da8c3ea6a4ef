"""Kill -9 the server again and again during a stream of writes: every acknowledged write survives.

A real server process (flask coknow serve) on the test's database; ideas are posted through the API
while the process is killed at random moments and started again. Afterwards every idea the server
acknowledged (201) is in the database whole (its status history and its author's follow were written in
the same transaction), the database's own integrity check passes, and the search index rebuilt from the
database finds each acknowledged idea by its title.
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from community import search
from community.extensions import db
from community.models import Idea, IdeaFollower, IdeaStatusChange, index_entries, utcnow

ROOT = Path(__file__).resolve().parents[2]
KILLS = 3
WORDS = ["export", "sensor", "alert", "battery", "calendar", "invoice", "dark mode", "offline maps", "firmware",
         "sharing", "reports", "webhooks", "pairing", "language", "widgets", "backup", "password", "printing"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(database: str, instance: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database, "COKNOW_INSTANCE_DIR": str(instance),
           "COKNOW_INDEX_DIR": str(instance / "index"), "SECRET_KEY": "crash-test-secret-key-0123456789",
           "COKNOW_RATE_LIMITS": "0", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "coknow", "serve", "--port", str(port)]
    # Our own interpreter and module with fixed arguments.
    process = subprocess.Popen(command, cwd=ROOT, env=env,  # noqa: S603
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("the server did not start")


@pytest.mark.slow
def test_acknowledged_writes_survive_repeated_kills(app, database, tmp_path, create_user):
    user = create_user(email="writer@example.com")
    user.created_at = utcnow() - timedelta(days=30)  # past the new-member allowance
    db.session.commit()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    browser = requests.Session()
    acknowledged: dict[int, str] = {}
    refused: list[str] = []
    rng = random.Random(18)
    counter = 0

    for round_ in range(KILLS):
        server = _start(database, tmp_path, port)
        if round_ == 0:
            page = browser.get(f"{base}/login").text
            token = page.split('name="csrf-token" content="')[1].split('"')[0]
            browser.post(f"{base}/login", data={"email": user.email, "password": "correct horse battery",
                                                "csrf_token": token})
            browser.headers["X-CSRFToken"] = browser.get(f"{base}/").text.split(
                'name="csrf-token" content="')[1].split('"')[0]
            me = browser.get(f"{base}/api/v1/me")
            assert me.status_code == 200, "could not sign in"
            assert me.headers["Server"] == "CoKnow"  # no Werkzeug or Python version announced
        # One write first, so the model is loaded and the kill lands among quick writes.
        warm = browser.post(f"{base}/api/v1/ideas", json={"title": f"Warm-up idea of round {round_}", "body": ""},
                            timeout=180)
        assert warm.status_code == 201, warm.text[:300]
        acknowledged[warm.json()["id"]] = f"Warm-up idea of round {round_}"
        stop = threading.Event()

        def write(stop: threading.Event = stop) -> None:
            nonlocal counter
            while not stop.is_set():
                counter += 1
                title = f"{rng.choice(WORDS)} {rng.choice(WORDS)} for {rng.choice(WORDS)} (#{counter})"
                try:
                    response = browser.post(f"{base}/api/v1/ideas", json={"title": title, "body": "Keep it."},
                                            timeout=10)
                except requests.RequestException:
                    continue  # the server died mid-request: not acknowledged, may or may not be stored
                if response.status_code == 201:
                    acknowledged[response.json()["id"]] = title
                else:
                    refused.append(f"{response.status_code} {response.text[:200]}")

        writers = [threading.Thread(target=write) for _ in range(3)]
        for w in writers:
            w.start()
        time.sleep(rng.uniform(1.5, 3.0))
        os.kill(server.pid, signal.SIGKILL)  # no shutdown, no flush: a power cut for the process
        server.wait()
        stop.set()
        for w in writers:
            w.join()

    assert len(acknowledged) >= KILLS, f"too few writes got through to prove anything: {refused[:3]}"
    db.session.expire_all()
    stored = dict(db.session.execute(select(Idea.id, Idea.title)).all())
    lost = {i: t for i, t in acknowledged.items() if stored.get(i) != t}
    assert lost == {}
    # Whole or not at all: each idea has its "posted" history row and its author's follow.
    posted = db.session.scalar(select(func.count()).select_from(IdeaStatusChange).where(IdeaStatusChange.event == "posted"))
    follows = db.session.scalar(select(func.count()).select_from(IdeaFollower))
    assert posted == follows == len(stored)
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    # The index table holds exactly the stored ideas, and the FAISS index rebuilt from it finds them.
    indexed = {int(row) for row in db.session.scalars(
        select(index_entries.c.source_id).where(index_entries.c.source_type == "idea").distinct())}
    assert indexed == set(stored)
    assert search.rebuild(app) == db.session.scalar(select(func.count()).select_from(index_entries))
    for idea_id, title in rng.sample(sorted(acknowledged.items()), min(10, len(acknowledged))):
        hits = search.similar(title, source_types=["idea"], k=10)
        assert str(idea_id) in {str(h.source_id) for h in hits}, title
