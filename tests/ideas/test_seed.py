"""The demo ideas import through the services and a second run creates nothing."""
from sqlalchemy import func, select

from community.extensions import db
from community.models import Idea, IdeaStatus, Vote


def test_seed_ideas_idempotent(app):
    from community.seed import seed_demo

    first = seed_demo()
    db.session.commit()
    ideas = db.session.scalar(select(func.count()).select_from(Idea))
    assert first.created.get("ideas") == ideas > 0
    dark = db.session.scalar(select(Idea).where(Idea.external_id == "seed:android-dark-mode"))
    assert dark.status is IdeaStatus.in_progress and dark.vote_count == 7 == db.session.scalar(
        select(func.count()).select_from(Vote).where(Vote.idea_id == dark.id))
    assert dark.comment_count == 3
    second = seed_demo()
    db.session.commit()
    assert not second.created.get("ideas")
    assert db.session.scalar(select(func.count()).select_from(Idea)) == ideas
