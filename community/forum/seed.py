"""Demo forum threads from community/seed_data/threads.jsonl (idempotent, like every seed step)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from community.forum import services

# Categories the demo threads use, with the descriptions the forum shows; one is for staff only.
CATEGORIES = [
    ("Announcements", "News from the Tidepool team: releases, maintenance and events.", False, 0),
    ("Questions & answers", "Ask how to do something with Tidepool; mark the reply that solved it.", False, 1),
    ("Tips & workflows", "Share how you organise notes, templates and automations.", False, 2),
    ("Bug reports", "Something broken? Describe the steps, what you expected and what happened.", False, 3),
    ("Staff lounge", "Internal: coordinate answers and escalations. Customers cannot see this category.", True, 4),
]


def seed_forum(seed_dir: Path, report: Any, progress: Callable[[str], None]) -> None:
    """Create the demo categories and import the demo threads; a missing file is skipped."""
    from community.forum.importer import import_lines
    from community.models import ForumCategory
    from community.extensions import db

    for name, description, staff_only, position in CATEGORIES:
        slug = services.slugify(name)
        if db.session.scalar(db.select(ForumCategory.id).where(ForumCategory.slug == slug)) is None:
            services.save_category(None, name=name, description=description, staff_only=staff_only,
                                   position=position)
            report.add("forum categories")
    path = seed_dir / "threads.jsonl"
    if not path.exists():
        return
    result = import_lines(path.read_text(encoding="utf-8").splitlines(), "seed")
    report.add("forum threads", result.threads)
    report.add("forum replies", result.replies)
    progress(f"Forum: {result.summary()}.")
