"""The idea rules, called directly: submit, vote, follow, comment, statuses."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.errors import Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.ideas import services
from community.models import (
    CommentRevision, Idea, IdeaComment, IdeaFollower, IdeaStatus, IdeaStatusChange, Notification, Vote,
)


def _count(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def test_submit_normalises_and_author_follows(app, create_user):
    ana = create_user(display_name="Ana")
    idea = services.submit_idea(ana, "  Dark   mode  ", "Please **add** it", "Mobile", "UI, Night mode, ui")
    db.session.commit()
    assert idea.title == "Dark mode" and idea.category == "mobile" and idea.tags == ["ui", "night-mode"]
    assert idea.status is IdeaStatus.open and idea.follower_count == 1
    assert [s.event for s in services.timeline(idea)] == ["posted"]


@pytest.mark.parametrize("title,body,field", [
    ("", "x", "title"),
    ("   ", "x", "title"),
    ("ab", "x", "title"),
    ("t" * (services.MAX_TITLE + 1), "", "title"),
    ("A fine title", "x" * (services.MAX_BODY + 1), "body"),
])
def test_submit_rejects_bad_input_and_writes_nothing(app, create_user, title, body, field):
    user = create_user()
    with pytest.raises(ValidationFailed) as info:
        services.submit_idea(user, title, body)
    db.session.rollback()
    assert field in info.value.fields
    assert _count(Idea) == 0 and _count(IdeaFollower) == 0


def test_vote_once_unvote_and_weight_recorded(app, create_user, create_idea):
    idea = create_idea()
    bob = create_user()
    assert services.cast_vote(bob, idea) is True
    assert services.cast_vote(bob, idea) is False  # a repeat is a no-op, not an error
    db.session.commit()
    assert idea.vote_count == 1 and _count(Vote, idea_id=idea.id) == 1
    vote = db.session.scalar(select(Vote))
    assert (vote.weight, vote.segment) == (1.0, None) and vote.recorded_by_id is None
    assert services.retract_vote(bob, idea) is True
    assert services.retract_vote(bob, idea) is False
    db.session.commit()
    assert idea.vote_count == 0 and _count(Vote) == 0


def test_weight_comes_from_voter_weight_at_vote_time(app, create_user, create_idea, monkeypatch):
    idea = create_idea()
    monkeypatch.setattr("community.ideas.services.voting.voter_weight", lambda user: ("enterprise", 3.5))
    services.cast_vote(create_user(), idea)
    monkeypatch.setattr("community.ideas.services.voting.voter_weight", lambda user: (None, 1.0))
    services.cast_vote(create_user(), idea)
    db.session.commit()
    value = services.idea_value(idea.id)
    assert value.raw_votes == 2 and value.weighted == 4.5
    assert value.segments == [("enterprise", 1, 3.5), (None, 1, 1.0)]


def test_follow_without_voting(app, create_user, create_idea):
    idea = create_idea()
    carl = create_user()
    assert services.follow_idea(carl, idea) and not services.follow_idea(carl, idea)
    db.session.commit()
    assert idea.follower_count == 2 and idea.vote_count == 0
    assert services.unfollow_idea(carl, idea)
    db.session.commit()
    assert idea.follower_count == 1


def test_staff_records_vote_for_customer_with_note(app, create_user, create_idea, staff):
    idea = create_idea()
    dora = create_user(email="dora@example.com")
    customer, added = services.record_vote_for(staff, "DORA@example.com", idea, "Asked on the phone")
    db.session.commit()
    assert customer.id == dora.id and added
    vote = db.session.scalar(select(Vote))
    assert vote.user_id == dora.id and vote.recorded_by_id == staff.id and vote.note == "Asked on the phone"
    with pytest.raises(Forbidden):
        services.record_vote_for(dora, "dora@example.com", idea, None)
    with pytest.raises(ValidationFailed):
        services.record_vote_for(staff, "nobody@example.com", idea, None)


def test_vote_on_missing_idea_is_not_found(app, create_user):
    ghost = Idea(id=999, title="ghost", body="")
    with pytest.raises(NotFound):
        services.cast_vote(create_user(), ghost)
    db.session.rollback()
    assert _count(Vote) == 0


def test_status_flow_timeline_and_notifications(app, create_user, create_idea, staff):
    author = create_user()
    idea = create_idea(author=author)
    voter, follower, bystander = create_user(), create_user(), create_user()
    services.cast_vote(voter, idea)
    services.follow_idea(follower, idea)
    db.session.commit()
    for status in ("under_review", "planned", "in_progress", "shipped"):
        services.change_status(idea, status, staff)
        db.session.commit()
    assert idea.status is IdeaStatus.shipped and idea.shipped_at is not None
    steps = services.timeline(idea)
    assert [s.to_status.value for s in steps] == ["open", "under_review", "planned", "in_progress", "shipped"]
    for user in (author, voter, follower):
        assert _count(Notification, user_id=user.id, kind="idea.status") == 4
    assert _count(Notification, user_id=bystander.id) == 0
    assert _count(Notification, user_id=staff.id) == 0  # the actor is not told about their own change


def test_decline_needs_reason_and_customers_cannot_change_status(app, create_user, create_idea, staff):
    idea = create_idea()
    customer = create_user()
    with pytest.raises(Forbidden):
        services.change_status(idea, "planned", customer)
    with pytest.raises(ValidationFailed) as info:
        services.change_status(idea, "declined", staff)
    assert "reason" in info.value.fields
    with pytest.raises(ValidationFailed):
        services.change_status(idea, "open", staff)  # no-op change
    with pytest.raises(ValidationFailed):
        services.change_status(idea, "bogus", staff)
    db.session.rollback()
    assert _count(IdeaStatusChange) == 1
    services.change_status(idea, "declined", staff, "Out of scope for the product")
    db.session.commit()
    assert idea.status_reason == "Out of scope for the product"
    with pytest.raises(services.VotingClosed):
        services.cast_vote(customer, idea)


def test_comments_official_mentions_edits_history(app, create_user, create_idea, staff):
    author = create_user(display_name="Ana Lima")
    idea = create_idea(author=author)
    rosa = create_user(display_name="Rosa Díaz")
    comment = services.add_comment(idea, rosa, "I need this too, @analima!")
    db.session.commit()
    assert not comment.official and idea.comment_count == 1
    # Mentioned author gets a mention, not also a comment notification.
    kinds = db.session.scalars(select(Notification.kind).where(Notification.user_id == author.id)).all()
    assert kinds == ["idea.mention"]
    official = services.add_comment(idea, staff, "We are looking at it, @RosaDíaz.")
    db.session.commit()
    assert official.official
    assert _count(Notification, user_id=rosa.id, kind="idea.mention") == 1

    services.edit_comment(comment, rosa, "I need this **a lot**.")
    db.session.commit()
    assert comment.edited_at is not None and comment.body == "I need this **a lot**."
    revision = db.session.scalar(select(CommentRevision))
    assert revision.body == "I need this too, @analima!" and revision.edited_by_id == rosa.id
    with pytest.raises(Forbidden):
        services.edit_comment(comment, author, "hijack")
    with pytest.raises(ValidationFailed):
        services.add_comment(idea, rosa, "   ")
    db.session.rollback()
    services.delete_comment(comment, rosa)
    db.session.commit()
    assert idea.comment_count == 1 and [c.id for c in services.comments(idea)] == [official.id]
    assert _count(IdeaComment) == 2


def test_board_sorts_and_filters(app, create_user, create_idea, staff):
    old = create_idea("Offline mode", category="sync", tags=["offline"])
    new = create_idea("Export to PDF", category="export")
    users = [create_user() for _ in range(3)]
    for user in users:
        services.cast_vote(user, old)
    services.cast_vote(users[0], new)
    services.change_status(new, "planned", staff)
    db.session.commit()
    assert [i.id for i in services.list_ideas("top").items] == [old.id, new.id]
    assert [i.id for i in services.list_ideas("new").items] == [new.id, old.id]
    assert [i.id for i in services.list_ideas("trending").items] == [old.id, new.id]
    assert [i.id for i in services.list_ideas("status").items] == [old.id, new.id]
    assert [i.id for i in services.list_ideas(status="planned").items] == [new.id]
    assert [i.id for i in services.list_ideas(category="SYNC").items] == [old.id]
    assert [i.id for i in services.list_ideas(tag="offline").items] == [old.id]
    assert [i.id for i in services.list_ideas(q="pdf").items] == [new.id]
    page = services.list_ideas("new", per_page=1, page=2)
    assert page.total == 2 and page.pages == 2 and [i.id for i in page.items] == [old.id]
    with pytest.raises(ValidationFailed):
        services.list_ideas("sideways")


def test_trending_prefers_recent_votes(app, create_user, create_idea):
    from datetime import timedelta

    from community.models import utcnow

    stale = create_idea("Stale favourite")
    fresh = create_idea("Fresh favourite")
    voters = [create_user() for _ in range(3)]
    for user in voters:
        services.cast_vote(user, stale)
    services.cast_vote(voters[0], fresh)
    services.cast_vote(voters[1], fresh)
    db.session.commit()
    # Three votes from 12 days ago score 3 × 2/14; two votes today score 2 × 14/14.
    db.session.execute(db.update(Vote).where(Vote.idea_id == stale.id)
                       .values(created_at=utcnow() - timedelta(days=12, hours=1)))
    db.session.commit()
    assert [i.id for i in services.list_ideas("trending").items] == [fresh.id, stale.id]
    assert [i.id for i in services.list_ideas("top").items] == [stale.id, fresh.id]
