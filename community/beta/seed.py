"""Demo beta programs from community/seed_data/beta.json, created through the services (idempotent by slug and key)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from community.beta import services
from community.beta.services import known_issues, programs
from community.extensions import db
from community.models import (
    BetaBuild,
    BetaProgram,
    KnownIssue,
    Role,
    User,
    find_user_by_email,
)

# The running program gets a first build and a few demo testers, so its pages have something to show.
DEMO_BUILDS = {"android-widgets": "4.13.0-beta.1"}
DEMO_TESTERS = ("zhang.wei@example.com", "amara.okafor@example.org")


def seed_beta(seed_dir: Path, report, progress: Callable[[str], None] = lambda _m: None) -> int:
    """Create the demo programs, their known issues, a build and testers; a no-op when the file is missing."""
    path = seed_dir / "beta.json"
    if not path.exists():
        return 0
    staff = db.session.scalar(select(User).where(User.role.in_([Role.staff, Role.admin])).order_by(User.id))
    if staff is None:
        return 0
    created = issues = 0
    for row in json.loads(path.read_text(encoding="utf-8")):
        program = db.session.scalar(select(BetaProgram).where(BetaProgram.slug == row["slug"]))
        if program is None:
            program = programs.save_program(staff, None, name=row["name"], description=row.get("description", ""),
                                            status=row.get("status", "recruiting"), features=row.get("features", []),
                                            slug=row["slug"])
            created += 1
        version = DEMO_BUILDS.get(row["slug"])
        build = None
        if version is not None:
            build = db.session.scalar(select(BetaBuild).where(BetaBuild.program_id == program.id,
                                                              BetaBuild.version == version))
            if build is None:
                build = programs.release_build(staff, program, version=version, notes=row.get("description", ""),
                                               notify_testers=False)
                for email in DEMO_TESTERS:
                    tester = find_user_by_email(email)
                    if tester is not None and not services.is_tester(program, tester):
                        programs.join_with_token(tester, program, programs.invitation_token(program))
        for n, issue in enumerate(row.get("known_issues", [])):
            key = f"seed:{row['slug']}:{n}"
            if db.session.scalar(select(KnownIssue.id).where(KnownIssue.seed_key == key)) is not None:
                continue
            known_issues.add_known_issue(staff, program, title=issue["title"], body=issue["body"], public=True,
                                         build_ids=[build.id] if build is not None else [], seed_key=key)
            issues += 1
    report.add("beta programs", created)
    report.add("known issues", issues)
    progress(f"Beta: {created} programs, {issues} known issues created.")
    return created
