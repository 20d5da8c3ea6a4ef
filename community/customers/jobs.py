"""Background jobs of the customer side: the CRM import and segment recomputation.

Jobs are channels: they call the services and commit (report_progress commits each finished batch).
Both are idempotent: a re-run imports unchanged rows as "unchanged" and recomputes the same segments.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from community.customers.services import crm_import
from community.customers.services.segments import recompute_segments
from community.errors import ValidationFailed
from community.extensions import db
from community.jobs import job, report_progress, start_job
from community.models import JobRun

# Above this many changed customers, recomputing everyone costs about the same as listing them.
MAX_IDS_IN_JOB = 5000


def upload_dir() -> Path:
    """Where uploaded CRM files wait for their import job (inside the instance folder)."""
    path = Path(current_app.config["COKNOW_INSTANCE_DIR"]) / "uploads" / "crm"
    path.mkdir(parents=True, exist_ok=True)
    return path


@job("customers.segments")
def recompute_segments_job(job_id: int, user_ids: list[int] | None = None) -> dict[str, Any]:
    """Recompute value segments and interests (everyone, or the given customers)."""
    report_progress(job_id, done=0, total=1, message="Computing segments")
    counts = recompute_segments(user_ids)
    db.session.commit()
    return {"segments": counts, "customers": sum(counts.values())}


def start_segment_recompute(user_ids: list[int] | None = None, *, user_id: int | None = None) -> JobRun:
    """Enqueue a segment recomputation after the caller's commit."""
    ids = None if user_ids is None or len(user_ids) > MAX_IDS_IN_JOB else sorted(set(user_ids))
    return start_job(recompute_segments_job, user_id=user_id, user_ids=ids)


@job("customers.import")
def import_customers(job_id: int, upload_path: str, create_missing: bool = False,
                     keep_file: bool = False) -> dict[str, Any]:
    """Import a CRM CSV in batches, committing and reporting progress after each; then recompute segments."""
    path = Path(upload_path)
    total = crm_import.count_rows(path)
    report_progress(job_id, done=0, total=total, message=f"0 of {total} rows")
    report = crm_import.ImportReport()
    try:
        for batch in crm_import.batches(path):
            crm_import.import_batch(batch, create_missing, report)
            report_progress(job_id, done=report.rows, total=total, message=f"{report.rows} of {total} rows")
    except ValidationFailed as error:
        db.session.rollback()
        return {**report.to_dict(), "file_error": error.message}
    if report.user_ids:
        start_segment_recompute(report.user_ids, user_id=None)
    db.session.commit()
    if not keep_file:
        path.unlink(missing_ok=True)
    return report.to_dict()
