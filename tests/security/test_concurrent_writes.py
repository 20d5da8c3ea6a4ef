"""50 customers reply to one thread and 50 vote on one idea at the same moment: every write succeeds in seconds.

The pool is smaller than the crowd on purpose: requests must queue for a connection and get one back
quickly, which only works if no after-commit hook wants a second connection while the first is held.
"""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Idea, Notification, Reply, Vote
from tests.conftest import Auth, csrf_token

CROWD = 50


def _signed_in_clients(app, create_user, prefix: str) -> list[tuple[object, str]]:
    clients = []
    for n in range(CROWD):
        user = create_user(email=f"{prefix}{n}@example.com")
        client = app.test_client()
        with app.app_context():  # each login its own app context, as a separate browser would have
            Auth(client).login(user.email)
            clients.append((client, csrf_token(client)))
    return clients


def _all_at_once(jobs) -> tuple[list, float]:
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        barrier.wait()
        try:
            results[i] = job()
        except Exception as exc:  # surfaced by the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.app_config(COKNOW_CONCURRENCY=8, FORUM_NEW_POSTS_PER_HOUR=1000, FORUM_POSTS_PER_HOUR=1000,
                        FORUM_NEW_ACCOUNT_POSTS=0, FORUM_NEW_ACCOUNT_HOURS=0)
def test_fifty_concurrent_replies_all_succeed_quickly(app, create_user, make_thread):
    author = create_user(email="asker@example.com")
    thread = make_thread(author)
    thread_id = thread.id
    clients = _signed_in_clients(app, create_user, "replier")

    def reply(client, token, n):
        return lambda: client.post(f"/api/v1/forum/threads/{thread_id}/replies", json={"body": f"Reply number {n}"},
                                   headers={"X-CSRFToken": token}).status_code

    statuses, seconds = _all_at_once([reply(c, t, n) for n, (c, t) in enumerate(clients)])
    assert statuses == [201] * CROWD
    assert seconds < 20, f"{CROWD} replies took {seconds:.1f} s"
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Reply).where(Reply.thread_id == thread_id)) == CROWD
    # Every reply told the thread's author: the after-commit pushes ran (they used to fail on an empty pool).
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == author.id)) >= 1


@pytest.mark.slow
@pytest.mark.app_config(COKNOW_CONCURRENCY=8)
def test_fifty_concurrent_votes_all_succeed_quickly(app, create_user, create_idea):
    idea_id = create_idea("Dark mode for the dashboard").id
    clients = _signed_in_clients(app, create_user, "voter")

    def vote(client, token):
        return lambda: client.post(f"/api/v1/ideas/{idea_id}/vote", json={},
                                   headers={"X-CSRFToken": token}).status_code

    statuses, seconds = _all_at_once([vote(c, t) for c, t in clients])
    assert set(statuses) <= {200, 201} and len(statuses) == CROWD, statuses
    assert seconds < 20, f"{CROWD} votes took {seconds:.1f} s"
    db.session.expire_all()
    assert db.session.scalar(select(Idea.vote_count).where(Idea.id == idea_id)) == CROWD
    assert db.session.scalar(select(func.count()).select_from(Vote).where(Vote.idea_id == idea_id)) == CROWD
