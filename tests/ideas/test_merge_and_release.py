"""Merging duplicates, the roadmap and changelog, and closing the loop when an idea ships."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community import search
from community.errors import Forbidden, ValidationFailed
from community.extensions import db
from community.ideas import services
from community.models import (
    Article, ArticleStatus, ContentReview, Idea, IdeaComment, IdeaFollower, IdeaStatus, Notification, Vote,
)


def _count(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for key, value in where.items():
        stmt = stmt.where(getattr(model, key) == value)
    return db.session.scalar(stmt)


def test_merge_counts_each_customer_once(app, create_user, create_idea, staff):
    a = create_idea("Dark mode for the web app")
    b = create_idea("Night theme please")
    both, only_a, only_b = create_user(), create_user(), create_user()
    for user in (both, only_a):
        services.cast_vote(user, a)
    for user in (both, only_b):
        services.cast_vote(user, b)
    services.follow_idea(both, b)
    services.add_comment(b, only_b, "Me too")
    db.session.commit()
    assert (a.vote_count, b.vote_count) == (2, 2)

    services.merge_ideas(b, a, staff)
    db.session.commit()
    db.session.expire_all()
    assert a.vote_count == 3 == _count(Vote, idea_id=a.id)
    assert sorted(db.session.scalars(select(Vote.user_id).where(Vote.idea_id == a.id))) == sorted(
        [both.id, only_a.id, only_b.id])
    # Followers: a's author, b's author, both, only_b (commented) — each once.
    assert a.follower_count == _count(IdeaFollower, idea_id=a.id) == 4
    assert a.comment_count == 1 and _count(IdeaComment, idea_id=a.id) == 1
    assert b.merged_into_id == a.id and b.vote_count == 0 and _count(Vote, idea_id=b.id) == 0
    assert [s.event for s in services.timeline(a)] == ["posted", "merged"]
    assert _count(Notification, user_id=only_b.id, kind="idea.merged") == 1
    with pytest.raises(services.IdeaMerged):
        services.cast_vote(create_user(), b)


def test_merge_rules(app, create_user, create_idea, staff):
    a, b = create_idea(), create_idea()
    with pytest.raises(Forbidden):
        services.merge_ideas(b, a, create_user())
    with pytest.raises(ValidationFailed):
        services.merge_ideas(a, a, staff)
    db.session.rollback()
    services.merge_ideas(b, a, staff)
    db.session.commit()
    with pytest.raises(services.IdeaMerged):
        services.merge_ideas(b, a, staff)


def test_merge_removes_the_merged_idea_from_the_index(app, create_idea, staff):
    a = create_idea("Two-factor login with an authenticator app")
    b = create_idea("Support TOTP authenticator apps for signing in")
    db.session.commit()
    found = {m.source_id for m in search.similar("authenticator app login", source_types=["idea"], k=5)}
    assert {str(a.id), str(b.id)} <= found
    services.merge_ideas(b, a, staff)
    db.session.commit()
    found = {m.source_id for m in search.similar("authenticator app login", source_types=["idea"], k=5)}
    assert str(b.id) not in found and str(a.id) in found


def test_similar_suggestions_and_duplicate_pairs(app, client, create_idea, monkeypatch):
    dark = create_idea("Dark mode on Android", "A dark theme that follows the system setting.")
    create_idea("Export invoices to PDF")
    response = client.get("/ideas/similar?q=Add a dark theme for the Android app")
    ideas = response.get_json()["ideas"]
    assert [i["id"] for i in ideas] == [dark.id]
    assert ideas[0]["vote_count"] == 0 and ideas[0]["status"] == "open" and ideas[0]["url"] == f"/ideas/{dark.id}"
    assert client.get("/ideas/similar?q=pdf").get_json() == {"ideas": []}  # too short to mean anything
    twin = create_idea("Android app needs a dark theme")

    def no_search(*args, **kwargs):
        raise AssertionError("duplicate_pairs compares stored vectors; it runs no search")

    monkeypatch.setattr(search, "similar", no_search)
    pairs = services.duplicate_pairs()
    assert [(a.id, b.id) for a, b, _score in pairs] == [(dark.id, twin.id)]
    assert pairs[0][2] >= search.DUPLICATE_THRESHOLD


def test_roadmap_and_changelog_ship_and_notify(app, client, create_user, create_idea, staff):
    planned = create_idea("Offline mode")
    doing = create_idea("Bulk edit")
    voter = create_user()
    services.cast_vote(voter, planned)
    services.change_status(planned, "planned", staff)
    services.change_status(doing, "in_progress", staff)
    db.session.commit()
    columns = services.roadmap()
    assert [i.id for i in columns[IdeaStatus.planned]] == [planned.id]
    assert [i.id for i in columns[IdeaStatus.in_progress]] == [doing.id]

    entry = services.publish_changelog(staff, "Version 4.2: offline mode", "Works on planes.", [planned.id])
    db.session.commit()
    assert planned.status is IdeaStatus.shipped and planned.shipped_at is not None
    assert [i.id for i in services.roadmap()[IdeaStatus.shipped]] == [planned.id]
    note = db.session.scalars(select(Notification).where(Notification.user_id == voter.id)
                              .order_by(Notification.id.desc())).first()
    assert "Shipped" in note.title and entry.title in note.body
    page = client.get("/ideas/changelog").get_data(as_text=True)
    assert "Version 4.2: offline mode" in page and f'href="/ideas/{planned.id}"' in page
    with pytest.raises(ValidationFailed):
        services.publish_changelog(staff, "", "", [])
    with pytest.raises(ValidationFailed):
        services.publish_changelog(staff, "Missing idea", "", [99999])
    with pytest.raises(Forbidden):
        services.publish_changelog(voter, "Nope", "", [])


def test_shipping_flags_matching_articles_and_answers(app, create_user, create_idea, staff):
    article = Article(slug="themes", title="Change the app's colour theme",
                      body="Open Settings › Appearance to switch between the light and dark theme on Android.",
                      status=ArticleStatus.published)
    other = Article(slug="invoices", title="Download invoices", body="Billing › Invoices lists every invoice as PDF.",
                    status=ArticleStatus.published)
    db.session.add_all([article, other])
    db.session.flush()
    for a in (article, other):
        search.index_document("article", a.id, title=a.title, body=a.body, meta={"visibility": "public"})
    search.index_document("answer", 77, title="How do I get a dark theme on Android?",
                          body="There is no dark theme on Android yet; use the system's forced dark mode.",
                          meta={"visibility": "public"})
    db.session.commit()
    idea = create_idea("Dark mode on Android", "A dark theme for the Android app that follows the system setting.")
    services.change_status(idea, "shipped", staff)
    db.session.commit()
    db.session.expire_all()
    flagged = {(r.source_type, r.source_id) for r in services.open_reviews()}
    assert ("article", str(article.id)) in flagged and ("answer", "77") in flagged
    assert ("article", str(other.id)) not in flagged
    assert article.needs_review and not other.needs_review
    review = db.session.scalar(select(ContentReview).where(ContentReview.source_type == "article"))
    services.resolve_review(review, staff)
    db.session.commit()
    assert not db.session.get(Article, article.id).needs_review
    assert ("article", str(article.id)) not in {(r.source_type, r.source_id) for r in services.open_reviews()}


def test_demand_hooks_and_chat_requesters_are_told_on_ship(app, create_user, create_idea, staff):
    asker = create_user()
    idea = create_idea()
    source = services.DemandSource("chat_requests", lambda: "Chat requests", lambda idea_id: 3,
                                   lambda idea_id: [asker.id])
    services.register_demand_source(source)
    try:
        demand = {key: count for key, _label, count in services.demand(idea)}
        assert demand["chat_requests"] == 3 and "gaps" not in demand  # no feature reports gaps as demand yet
        services.change_status(idea, "shipped", staff)
        db.session.commit()
    finally:
        services.DEMAND_SOURCES.pop("chat_requests", None)
    assert _count(Notification, user_id=asker.id, kind="idea.status") == 1
    assert db.session.get(Idea, idea.id).status is IdeaStatus.shipped
