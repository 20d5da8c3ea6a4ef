"""A small site with three clear topics in threads, an idea and a gap, indexed with the real model."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from community.extensions import db
from community.models import GapSource, GapVariant, KnowledgeGap, utcnow

TOPICS = {
    "billing": [
        "My card was charged twice for the annual plan",
        "Refund for a double payment on my invoice",
        "Why did my subscription renewal charge fail",
        "How do I update the credit card used for billing",
        "Invoice shows the wrong VAT amount",
        "I was billed after cancelling my subscription",
    ],
    "sync": [
        "Notes are not syncing between my phone and laptop",
        "Sync is stuck on uploading changes",
        "My edits disappeared after sync on the tablet",
        "Sync error keeps showing on the desktop app",
        "Changes made offline do not sync when I reconnect",
        "Phone shows old versions of notes, sync broken",
    ],
    "dark_mode": [
        "Please add a dark mode to the editor",
        "Dark theme for night time writing",
        "The white background hurts my eyes at night, need dark mode",
        "Any plans for a dark colour scheme",
        "Dark mode for the mobile app please",
        "Night mode toggle in settings",
    ],
}


def thread_lines(now=None) -> list[str]:
    now = now or utcnow()
    lines = []
    for topic, titles in TOPICS.items():
        for n, title in enumerate(titles):
            created = (now - timedelta(days=3 + 7 * (n % 3))).isoformat()
            lines.append(json.dumps({"id": f"{topic}-{n}", "category": topic, "title": title, "tags": [],
                                     "created": created, "author": f"customer-{topic}-{n}", "body": title + ".",
                                     "replies": []}))
    return lines


@pytest.fixture
def insight_site(app, create_user):
    """Threads in three topics, an idea about dark mode, a gap about double charges, and a staff member."""
    from community.forum.importer import import_lines
    from community.ideas.services import submit_idea
    from knowledge_index.embedder import get_embedder

    staff = create_user(email="staff@example.com", display_name="Sam Staff", role="staff")
    customer = create_user(email="carla@example.com", display_name="Carla Customer")
    import_lines(thread_lines(), "test")
    idea = submit_idea(customer, "Dark mode for the editor", "A dark theme for night writing, please.", None, [])
    gap = KnowledgeGap(title="charged twice for my plan", ask_count=1)
    question = "I was charged twice for my plan"
    gap.variants.append(GapVariant(question=question, vector=get_embedder().encode([question])[0].astype("<f4").tobytes(),
                                   source=list(GapSource)[0], user_id=customer.id))
    db.session.add(gap)
    db.session.commit()
    return {"staff": staff, "customer": customer, "idea": idea, "gap": gap}


@pytest.fixture
def themes_run(insight_site):
    """A finished theme run over the site (the job runs inline after the commit)."""
    from community.insights.jobs import start_theme_run
    from community.insights.themes import latest_run

    start_theme_run(insight_site["staff"])
    db.session.commit()
    run = latest_run()
    assert run is not None and run.state == "done"
    return run
