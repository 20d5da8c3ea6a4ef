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
from huey import MemoryHuey, crontab
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
# kind -> the queue task, so a run found stale can be enqueued again from its stored arguments.
_TASKS: dict[str, Any] = {}
_embedded_lock = threading.Lock()
_embedded_started = False

JOB_RETRIES = 2  # three tries in all
JOB_RETRY_DELAY = 5  # seconds before the first retry; doubled for the next
HEARTBEAT_SECONDS = 20  # well under COKNOW_JOB_STALE_SECONDS

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

        # start_job finds the queue task and the kind on the function the feature code holds.
        marked: Any = fn
        marked.kind = kind
        marked.task = task
        _TASKS[kind] = task
        return fn

    return decorate


def _run(fn: Callable[..., Any], job_id: int, kwargs: dict[str, Any], final: bool) -> None:
    run = db.session.get(JobRun, job_id)
    if run is None or run.state is JobState.done:
        return  # deleted, or a duplicate delivery of a finished job
    run.state = JobState.running
    run.attempts += 1
    run.started_at = run.started_at or utcnow()
    run.heartbeat_at = utcnow()
    db.session.commit()
    beating = _Heartbeat(job_id, min(HEARTBEAT_SECONDS, _app_stale_seconds() / 3))
    try:
        result = fn(job_id, **kwargs)
    except Exception as exc:
        beating.stop()
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
    beating.stop()
    run = db.session.get(JobRun, job_id)
    if run is not None:
        run.state = JobState.done
        run.result = result if isinstance(result, dict) else None
        run.error = None
        run.finished_at = utcnow()
        if run.total is not None:
            run.done = run.total
        db.session.commit()


def _app_stale_seconds() -> float:
    from flask import current_app

    return float(current_app.config.get("COKNOW_JOB_STALE_SECONDS", 120))


class _Heartbeat:
    """Marks a run alive every few seconds from a side thread, so a long job without progress reports
    is not taken for dead; stops with the job (and dies with its worker, which is the point)."""

    def __init__(self, job_id: int, interval: float) -> None:
        self.job_id = job_id
        self.interval = interval
        self.engine = db.engine
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name=f"coknow-job-{job_id}-heartbeat")
        self.thread.start()

    def _beat(self) -> None:
        from sqlalchemy import update

        while not self.done.wait(self.interval):
            try:
                with self.engine.begin() as conn:
                    conn.execute(update(JobRun).where(JobRun.id == self.job_id).values(heartbeat_at=utcnow()))
            except Exception:  # SQLite busy with the job's own write: the next beat will do
                log.debug("job %s heartbeat skipped", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.done.set()


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
    run.heartbeat_at = utcnow()
    if total is not None:
        run.total = total
    if message is not None:
        run.message = message[:300]
    db.session.commit()


def requeue_stale(max_age_seconds: float) -> int:
    """Enqueue again every run that is marked running but has not beaten for max_age_seconds: its
    worker died (killed, out of memory, machine lost). Jobs are idempotent, so a rerun finishes the work.
    A run that keeps dying is marked failed after its retries. Returns how many runs were enqueued."""
    from datetime import timedelta

    from sqlalchemy import func, select

    cutoff = utcnow() - timedelta(seconds=max_age_seconds)
    stale = db.session.scalars(select(JobRun).where(
        JobRun.state == JobState.running,
        func.coalesce(JobRun.heartbeat_at, JobRun.started_at, JobRun.created_at) < cutoff,
    ).with_for_update(skip_locked=True)).all()
    again: list[tuple[Any, int, dict[str, Any]]] = []
    for run in stale:
        task = _TASKS.get(run.kind)
        if task is None or run.attempts > JOB_RETRIES:
            run.state = JobState.failed
            run.finished_at = utcnow()
            run.error = run.error or ("Unknown job kind" if task is None else "The worker running it stopped, too often")
            continue
        run.state = JobState.queued
        run.message = "Restarted after its worker stopped"
        again.append((task, run.id, dict(run.arguments or {})))
    db.session.commit()
    for task, job_id, arguments in again:
        task(job_id, **arguments)
    if again:
        log.warning("re-enqueued %d job run(s) whose worker stopped", len(again))
    return len(again)


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
    """Run a dedicated job worker process until it is stopped (production); first, pick up the runs
    a worker that died left behind."""
    if _app is not None:
        with _app.app_context():
            requeue_stale(_app.config["COKNOW_JOB_STALE_SECONDS"])
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


@huey.periodic_task(crontab(minute="*"), name="jobs.requeue_stale")
def _requeue_stale_every_minute() -> None:
    if _app is None:
        return
    with _app.app_context():
        requeue_stale(_app.config["COKNOW_JOB_STALE_SECONDS"])


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

