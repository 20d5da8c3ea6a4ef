"""Demo ideas from community/seed_data/ideas.jsonl, created through the services (idempotent by external id)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from community.extensions import db
from community.ideas import services
from community.models import Idea, IdeaStatus, Role, User, find_user_by_email

DECLINED_REASON = "Not something we plan to build; thanks for the suggestion."


def seed_ideas(seed_dir: Path, report, progress: Callable[[str], None] = lambda _m: None) -> int:
    """Import demo ideas with their voters, comments and status; a no-op when the file is missing."""
    path = seed_dir / "ideas.jsonl"
    if not path.exists():
        return 0
    staff = db.session.scalar(select(User).where(User.role.in_([Role.staff, Role.admin])).order_by(User.id))
    created = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        external_id = f"seed:{row['id']}"
        if db.session.scalar(select(Idea.id).where(Idea.external_id == external_id)) is not None:
            continue
        author = find_user_by_email(row["author"])
        if author is None:
            continue
        idea = services.submit_idea(author, row["title"], row.get("body", ""), row.get("category"),
                                    row.get("tags"), external_id=external_id, limit_rate=False)
        for email in row.get("voters", []):
            voter = find_user_by_email(email)
            if voter is not None:
                services.cast_vote(voter, idea)
        for comment in row.get("comments", []):
            commenter = find_user_by_email(comment["author"])
            if commenter is not None:
                services.add_comment(idea, commenter, comment["body"], notify_users=False, limit_rate=False)
        status = services.parse_status(row.get("status", "open"))
        if status is not IdeaStatus.open and staff is not None:
            reason = row.get("status_reason") or (DECLINED_REASON if status is IdeaStatus.declined else None)
            services.change_status(idea, status, staff, reason, notify_users=False)
        created += 1
    report.add("ideas", created)
    progress(f"Ideas: {created} created.")
    return created
