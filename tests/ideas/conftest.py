"""Factories for idea tests."""
from __future__ import annotations

import pytest

from community.extensions import db


@pytest.fixture
def create_idea(app, create_user):
    """Factory: create_idea(title=..., author=...) submits through the service and commits."""
    from community.ideas.services import submit_idea

    counter = iter(range(1, 10_000))

    def make(title: str | None = None, body: str = "", author=None, category: str | None = None, tags=None):
        n = next(counter)
        idea = submit_idea(author or create_user(), title or f"Idea number {n}", body, category, tags)
        db.session.commit()
        return idea

    return make


@pytest.fixture
def staff(create_user):
    return create_user(email="staff@example.com", display_name="Sam Staff", role="staff")
