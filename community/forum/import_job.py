"""The forum import as a background job: batches committed one by one, progress reported, safe to rerun."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from community.forum.importer import import_lines
from community.jobs import job, report_progress


@job("forum.import")
def import_forum_file(job_id: int, path: str, source: str, default_category: str = "General",
                      batch_size: int = 50) -> dict[str, Any]:
    """Import a JSONL file of threads; a rerun (after a crash) skips what is already imported."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    total = len(lines)
    report_progress(job_id, 0, total, "Starting")
    report = import_lines(lines, source, default_category=default_category, batch_size=batch_size,
                          on_batch=lambda line: report_progress(job_id, line, total, f"{line} of {total} lines"))
    return {"summary": report.summary(), "threads": report.threads, "replies": report.replies,
            "rejected": [[line, reason] for line, reason in report.rejected]}
