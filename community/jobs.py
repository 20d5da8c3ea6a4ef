"""Background jobs: long work (imports, re-indexing, theme runs, segments, fan-out) runs on a huey queue.

huey works embedded and distributed with one API: its SQLite storage needs no service (the default,
with worker threads inside `flask coknow serve`), its Redis storage serves many processes and machines
(`COKNOW_JOBS_URL=redis://...`, workers started with `flask coknow jobs worker`). Tests run jobs
immediately, right after the commit that enqueued them.

A job is a function of plain, JSON-able arguments whose first argument is the id of its `JobRun`
row; it commits its own work (it is a channel) and must be idempotent, because a job whose worker
died is run again.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from flask import Flask, current_app, has_app_context
from huey import MemoryHuey
from huey.api import Huey, Task
from huey.storage import RedisStorage, SqliteStorage

from community.extensions import db
from community.models.base import utcnow
from community.models.job import JobRun, JobState
from community.realtime import after_commit

log = logging.getLogger(__name__)

# Storage is chosen by init_app from the settings; tasks register on this one instance at import.
huey: Huey = MemoryHuey("coknow", results=False, utc=True)
_app: Flask | None = None
_embedded_lock = threading.Lock()
_embedded_started = False

JOB_RETRIES = 2  # three tries in all
JOB_RETRY_DELAY = 5  # seconds before the first retry; doubled for the next

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    """Point the queue at the configured storage; tests run jobs inline."""
    global _app
    _app = app
    url = app.config.get("COKNOW_JOBS_URL", "")
    if app.config.get("TESTING") or url == "immediate":
        huey.immediate = True
        return
    huey.immediate = False
    if url.startswith(("redis://", "rediss://", "unix://")):
        huey.storage = RedisStorage(huey.name, url=url)
    else:
        path = Path(url.removeprefix("sqlite:///")) if url else Path(app.config["COKNOW_INSTANCE_DIR"]) / "jobs.db"
        huey.storage = SqliteStorage(huey.name, filename=str(path))


def job(kind: str, retry_delay: int = JOB_RETRY_DELAY) -> Callable[[F], F]:
    """Register fn as the job `kind`, run by a worker inside an app context with retries."""

    def decorate(fn: F) -> F:
        @huey.task(retries=JOB_RETRIES, retry_delay=retry_delay, retry_backoff=2, context=True, name=kind)
        def task(job_id: int, task: Task | None = None, **kwargs: Any) -> None:
            app = current_app._get_current_object() if has_app_context() else _app  # type: ignore[attr-defined]
            if app is None:
                raise RuntimeError("jobs.init_app was not called in this process")
            # A fresh app context gives the job its own database session, apart from any request's.
            with app.app_context():
                _run(fn, job_id, kwargs, final=task is None or not task.retries)

        setattr(fn, "kind", kind)
        setattr(fn, "task", task)
        return fn

    return decorate


def _run(fn: Callable[..., Any], job_id: int, kwargs: dict[str, Any], final: bool) -> None:
    run = db.session.get(JobRun, job_id)
    if run is None or run.state is JobState.done:
        return  # deleted, or a duplicate delivery of a finished job
    run.state = JobState.running
    run.attempts += 1
    run.started_at = run.started_at or utcnow()
    db.session.commit()
    try:
        result = fn(job_id, **kwargs)
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(JobRun, job_id)
        if run is not None:
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            if final:
                run.state = JobState.failed
                run.finished_at = utcnow()
            else:
                run.state = JobState.queued
                run.message = "Retrying after an error"
            db.session.commit()
        log.exception("job %s (%s) failed%s", job_id, run.kind if run else "?", "" if final else "; retrying")
        raise
    run = db.session.get(JobRun, job_id)
    if run is not None:
        run.state = JobState.done
        run.result = result if isinstance(result, dict) else None
        run.error = None
        run.finished_at = utcnow()
        if run.total is not None:
            run.done = run.total
        db.session.commit()


def start_job(fn: Callable[..., Any], *, user_id: int | None = None, total: int | None = None,
              **kwargs: Any) -> JobRun:
    """Record a run of the job fn and enqueue it once the caller's transaction commits."""
    task = getattr(fn, "task", None)
    kind = getattr(fn, "kind", None)
    if task is None or kind is None:
        raise TypeError(f"{fn!r} is not a @job function")
    run = JobRun(kind=kind, arguments=kwargs, created_by_id=user_id, total=total, message="")
    db.session.add(run)
    db.session.flush()
    job_id = run.id
    after_commit(lambda: task(job_id, **kwargs))
    return run


def report_progress(job_id: int, done: int, total: int | None = None, message: str | None = None) -> None:
    """Record how far a job has got, committing the job's session.

    Call it between batches: the batch just finished is committed with it, which is what an
    idempotent, restartable job wants (and SQLite allows one writer, so a second connection would
    wait on the job's own open transaction).
    """
    run = db.session.get(JobRun, job_id)
    if run is None:
        return
    run.done = done
    if total is not None:
        run.total = total
    if message is not None:
        run.message = message[:300]
    db.session.commit()


def get_run(job_id: int) -> JobRun | None:
    """The run with this id, if any."""
    return db.session.get(JobRun, job_id)


def start_embedded_workers(workers: int) -> None:
    """Run job workers as threads of this process (the embedded default); once per process."""
    global _embedded_started
    if workers <= 0 or huey.immediate:
        return
    with _embedded_lock:
        if _embedded_started:
            return
        consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
        # Consumer.start() would install signal handlers, which belong to the server, not to us.
        consumer.scheduler.start()
        for _, worker in consumer.worker_threads:
            worker.start()
        _embedded_started = True


def run_worker(workers: int) -> None:
    """Run a dedicated job worker process until it is stopped (production)."""
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


__all__ = [
    "get_run",
    "huey",
    "init_app",
    "job",
    "report_progress",
    "run_worker",
    "start_embedded_workers",
    "start_job",
]

