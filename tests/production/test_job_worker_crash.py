"""A job worker killed in the middle of an import: a new worker finishes it, nothing duplicated or missing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from huey.storage import SqliteStorage
from sqlalchemy import func, select

from community import jobs
from community.extensions import db
from community.forum.import_job import import_forum_file
from community.models import JobRun, JobState, Reply, Thread

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data" / "forum" / "coffee_stackexchange.jsonl"
THREADS = 30
STALE_SECONDS = 3

pytestmark = pytest.mark.slow


def _worker(env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "coknow", "jobs", "worker", "--workers", "1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _run(run_id: int) -> JobRun:
    db.session.remove()
    return db.session.get(JobRun, run_id)


def test_a_killed_worker_leaves_an_import_that_the_next_worker_finishes(app, database, tmp_path):
    if not DATA.exists():
        pytest.skip(f"{DATA} is missing (../shared/data beside the repository)")
    lines = DATA.read_text(encoding="utf-8").splitlines()[:THREADS]
    expected_replies = sum(len(json.loads(line)["replies"]) for line in lines)
    source = tmp_path / "threads.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    queue = tmp_path / "jobs.db"
    env = {**os.environ, "DATABASE_URL": database, "COKNOW_INSTANCE_DIR": str(tmp_path),
           "COKNOW_INDEX_DIR": str(tmp_path / "index"), "COKNOW_JOBS_URL": f"sqlite:///{queue}",
           "COKNOW_JOB_STALE_SECONDS": str(STALE_SECONDS), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    saved = jobs.huey.storage
    jobs.huey.immediate = False
    jobs.huey.storage = SqliteStorage(jobs.huey.name, filename=str(queue))
    try:
        run = jobs.start_job(import_forum_file, path=str(source), source="coffee", batch_size=3)
        db.session.commit()
        run_id = run.id
    finally:
        jobs.huey.immediate = True
        jobs.huey.storage = saved

    log1 = (tmp_path / "worker1.log").open("w")
    first = _worker(env, log1)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            state = _run(run_id)
            if state.state is JobState.running and 0 < state.done < THREADS:
                break
            assert first.poll() is None, (tmp_path / "worker1.log").read_text()[-2000:]
            time.sleep(0.2)
        else:
            pytest.fail("the import never got going")
        first.send_signal(signal.SIGKILL)  # mid-import, no clean shutdown
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
        log1.close()
    half = _run(run_id)
    assert half.state is JobState.running and half.done < THREADS

    time.sleep(STALE_SECONDS + 1)  # the dead worker's heartbeat goes stale
    log2 = (tmp_path / "worker2.log").open("w")
    second = _worker(env, log2)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and _run(run_id).state is not JobState.done:
            assert second.poll() is None, (tmp_path / "worker2.log").read_text()[-2000:]
            time.sleep(0.3)
    finally:
        second.terminate()
        second.wait(20)
        log2.close()
    done = _run(run_id)
    assert done.state is JobState.done, (done.state, done.error)
    assert done.attempts == 2
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Thread)) == THREADS
    assert db.session.scalar(select(func.count()).select_from(Reply)) == expected_replies
    assert db.session.scalar(select(func.count(func.distinct(Thread.external_id)))) == THREADS
