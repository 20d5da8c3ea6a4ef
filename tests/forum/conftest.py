"""Forum fixtures: categories and a thread factory that goes through the services."""
from __future__ import annotations

from datetime import timedelta

import pytest

from community.extensions import db
from community.forum import services
from community.models import Reply, Thread, utcnow


@pytest.fixture
def category(app):
    cat = services.save_category(None, name="Getting started", description="Questions about *setup*.")
    db.session.commit()
    return cat


@pytest.fixture
def staff_category(app):
    cat = services.save_category(None, name="Staff room", description="Internal.", staff_only=True)
    db.session.commit()
    return cat


@pytest.fixture
def veteran(create_user, category):
    """Factory: a customer past the new-member limits (account a week old, posts days ago)."""

    def make(**kwargs):
        user = create_user(**kwargs)
        user.created_at = utcnow() - timedelta(days=7)
        then = utcnow() - timedelta(days=3)
        thread = Thread(category=category, author=user, title="An old question", body="old", created_at=then,
                        last_activity_at=then)
        db.session.add(thread)
        db.session.add_all(Reply(thread=thread, author=user, body="old", created_at=then) for _ in range(3))
        db.session.commit()
        return user

    return make


@pytest.fixture
def relaxed_limits(app):
    """Lift the posting limits for tests that write many posts."""
    app.config.update(FORUM_NEW_POSTS_PER_HOUR=1000, FORUM_POSTS_PER_HOUR=1000, FORUM_NEW_ACCOUNT_POSTS=0,
                      FORUM_NEW_ACCOUNT_HOURS=0)


@pytest.fixture
def make_thread(app, category):
    def make(author, title="How do I pair the sensor?", body="It blinks red.", cat=None, tags=()):
        thread = services.create_thread(author, cat or category, title, body, tags)
        db.session.commit()
        return thread

    return make
