"""The background job queue: runs after commit, records progress and results, retries, and is private."""
from __future__ import annotations

import time

import pytest
from huey.storage import SqliteStorage

from community import jobs
from community.extensions import db
from community.jobs import job, report_progress, start_job
from community.models import JobRun, JobState, Role

CALLS: list[tuple[int, int]] = []
FAILURES = {"left": 0}


@job("tests.count_to")
def count_to(job_id: int, n: int) -> dict:
    for i in range(1, n + 1):
        CALLS.append((job_id, i))
        report_progress(job_id, done=i, total=n, message=f"{i} of {n}")
    return {"counted": n}


@job("tests.flaky", retry_delay=0)
def flaky(job_id: int) -> dict:
    if FAILURES["left"] > 0:
        FAILURES["left"] -= 1
        raise RuntimeError("worker lost its connection")
    return {"ok": True}


def test_a_job_runs_only_after_the_enqueuing_commit(app):
    CALLS.clear()
    run = start_job(count_to, n=3)
    assert CALLS == [] and run.state is JobState.queued
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(JobRun, run.id)
    assert [i for _, i in CALLS] == [1, 2, 3]
    assert stored.state is JobState.done and stored.done == 3 and stored.total == 3
    assert stored.result == {"counted": 3} and stored.message == "3 of 3"


def test_a_rolled_back_job_never_runs(app):
    CALLS.clear()
    start_job(count_to, n=2)
    db.session.rollback()
    assert CALLS == []
    assert db.session.query(JobRun).count() == 0


def test_start_job_refuses_a_plain_function(app):
    with pytest.raises(TypeError):
        start_job(lambda job_id: None)


def test_job_status_is_visible_to_its_creator_and_staff_only(app, client, auth, create_user):
    owner = create_user("owner@example.com")
    create_user("other@example.com")
    create_user("staff@example.com", role=Role.staff)
    run = start_job(count_to, user_id=owner.id, n=1)
    db.session.commit()
    url = f"/api/v1/jobs/{run.id}"
    assert client.get(url).status_code == 401
    auth.login("other@example.com")
    assert client.get(url).status_code == 404
    auth.logout()
    auth.login("owner@example.com")
    body = client.get(url).get_json()
    assert body["state"] == "done" and body["result"] == {"counted": 1} and body["kind"] == "tests.count_to"
    auth.logout()
    auth.login("staff@example.com")
    assert client.get(url).status_code == 200
    assert client.get("/api/v1/jobs/999999").status_code == 404


def test_a_real_queue_worker_retries_a_failing_job_until_it_succeeds(app, tmp_path):
    """Not inline: a huey SQLite queue and a worker thread, as under `flask coknow serve`."""
    saved = jobs.huey.storage
    jobs.huey.immediate = False
    jobs.huey.storage = SqliteStorage(jobs.huey.name, filename=str(tmp_path / "jobs.db"))
    consumer = jobs.huey.create_consumer(workers=1, worker_type="thread", periodic=False,
                                         initial_delay=0.05, max_delay=0.2)
    try:
        FAILURES["left"] = 1
        run = start_job(flaky)
        db.session.commit()
        run_id = run.id
        consumer.scheduler.start()
        for _, worker in consumer.worker_threads:
            worker.start()
        deadline = time.monotonic() + 20
        state = None
        while time.monotonic() < deadline:
            db.session.expire_all()
            state = db.session.get(JobRun, run_id)
            if state.state is JobState.done:
                break
            time.sleep(0.1)
        assert state is not None and state.state is JobState.done, state and (state.state, state.error)
        assert state.attempts == 2 and state.result == {"ok": True} and state.error is None
    finally:
        consumer.stop_flag.set()
        for _, worker in consumer.worker_threads:
            worker.join(timeout=5)
        consumer.scheduler.join(timeout=5)
        jobs.huey.immediate = True
        jobs.huey.storage = saved
