"""Theme runs and the digest as background jobs (on demand from the page, API or CLI, and weekly)."""
from __future__ import annotations

import logging
from typing import Any

from huey import crontab

from community import jobs
from community.extensions import db
from community.insights import themes, trends
from community.models import ThemeRun, User

log = logging.getLogger(__name__)


@jobs.job("insights.themes")
def run_themes(job_id: int, run_id: int) -> dict[str, Any]:
    """Compute a queued theme run; a retry of a finished run does nothing (idempotent)."""
    run = db.session.get(ThemeRun, run_id)
    if run is None or run.state == "done":
        return {"run_id": run_id, "skipped": True}
    # A retry after a crash starts over: whatever a failed attempt left is dropped with its themes.
    for theme in list(run.themes):
        db.session.delete(theme)
    run.state = "running"
    run.job_id = job_id
    jobs.report_progress(job_id, 0, 3, "Reading stored vectors")
    try:
        themes.compute_run(run)
        themes.finish_run(run)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(ThemeRun, run_id)
        if run is not None:
            themes.finish_run(run, f"{type(exc).__name__}: {exc}")
            db.session.commit()
        raise
    return {"run_id": run.id, "themes": run.n_themes, "items": run.n_items, "seconds": run.seconds}


def start_theme_run(by: User | None, source_names=None, period_days=None, *, scheduled: bool = False) -> ThemeRun:
    """Queue a theme run and its job (enqueued when the caller commits)."""
    run = themes.create_run(by, source_names, period_days, scheduled=scheduled)
    job = jobs.start_job(run_themes, user_id=by.id if by is not None else None, total=3, run_id=run.id)
    run.job_id = job.id
    db.session.flush()
    return run


@jobs.job("insights.digest")
def send_digest(job_id: int) -> dict[str, Any]:
    """E-mail the trends digest to the staff who subscribed (through the outbox)."""
    sent = trends.send_digest()
    db.session.commit()
    return {"sent": sent}


@jobs.huey.periodic_task(crontab(day_of_week="1", hour="3", minute="0"), name="insights.weekly")
def weekly() -> None:
    """Every Monday: a fresh theme run over the default sources, then the digest."""
    app = jobs._app
    if app is None:
        return
    with app.app_context():
        try:
            start_theme_run(None, scheduled=True)
            jobs.start_job(send_digest)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("weekly insights run could not start")
