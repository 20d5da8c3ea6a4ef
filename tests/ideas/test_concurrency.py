"""Parallel clicks: no lost or double votes, and a racing duplicate is a no-op, on SQLite and PostgreSQL."""
from __future__ import annotations

import random
import threading

from sqlalchemy import func, select

from community.extensions import db
from community.models import Idea, Vote
from tests.conftest import Auth, csrf_token

USERS = 8
TABS = 2  # each customer clicks from two tabs at once: 16 threads


def _run_parallel(jobs) -> list:
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _state(idea_id: int) -> tuple[int, int, int]:
    db.session.expire_all()
    count = db.session.scalar(select(Idea.vote_count).where(Idea.id == idea_id))
    rows = db.session.scalar(select(func.count()).select_from(Vote).where(Vote.idea_id == idea_id))
    distinct = db.session.scalar(select(func.count(func.distinct(Vote.user_id))).where(Vote.idea_id == idea_id))
    return count, rows, distinct


def test_parallel_votes_and_unvotes_keep_exact_count(app, create_user, create_idea):
    idea = create_idea("Keyboard shortcuts for everything")
    idea_id = idea.id
    tabs = []
    for n in range(USERS):
        user = create_user(email=f"racer{n}@example.com")
        for _ in range(TABS):
            client = app.test_client()
            # Requests reuse an active app context (and its cached current_user): give each its own.
            with app.app_context():
                Auth(client).login(user.email)
                tabs.append((client, csrf_token(client, f"/ideas/{idea_id}")))

    def click(client, token, action):
        return lambda: client.post(f"/ideas/{idea_id}/{action}", headers={"Accept": "application/json",
                                                                          "X-CSRFToken": token}).status_code

    # Round 1: every tab votes at once; each customer's second tab races its first.
    statuses = _run_parallel([click(c, t, "vote") for c, t in tabs])
    assert statuses == [200] * len(tabs)
    assert _state(idea_id) == (USERS, USERS, USERS)

    # Rounds 2-5: random votes and unvotes from every tab at once.
    rng = random.Random(5)
    for _ in range(4):
        statuses = _run_parallel([click(c, t, rng.choice(["vote", "unvote"])) for c, t in tabs])
        assert statuses == [200] * len(tabs)
        count, rows, distinct = _state(idea_id)
        assert count == rows == distinct and 0 <= rows <= USERS

    # Finally everyone unvotes from both tabs at once: nothing goes negative.
    statuses = _run_parallel([click(c, t, "unvote") for c, t in tabs])
    assert statuses == [200] * len(tabs)
    assert _state(idea_id) == (0, 0, 0)
