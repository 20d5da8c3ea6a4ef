"""Customer services: CRM import, segments and weights, timeline, contribution, export and deletion."""
from __future__ import annotations

from sqlalchemy import func, select

from community.customers.services import contribution, crm_import, privacy, segments, timeline
from community.extensions import db
from community.ideas import services as ideas
from community.models import (
    CustomerProfile, Idea, IdeaComment, Notification, Reply, Role, Segment, Thread, User, Vote,
)


def test_crm_import_names_bad_rows_by_line_imports_the_rest_and_changes_nothing_twice(app, create_user):
    create_user("ana@example.com", "Ana")
    create_user("staff@example.com", "Sam", role=Role.staff)
    text = ("email,name,company,plan,annual_value,signup_date,owner\n"
            "ANA@example.com,Ana Lima,Harbor,Team,\"12,000\",2024-03-01,Kim\n"
            "not-an-email,X,Y,Free,,,\n"
            "new@example.com,New Person,Newco,Plus,abc,,\n"
            "staff@example.com,Sam,Tidepool,Team,,,\n"
            "new2@example.com,Second New,Newco,Plus,,2025-13-01,\n"
            "ghost@example.com,Ghost,Boo,Free,,,\n"
            "ana@example.com,Ana again,Harbor,Team,,,\n")
    report = crm_import.import_text(text)
    db.session.commit()
    assert [(e.line, e.reason.split(" ")[0]) for e in report.errors] == [
        (3, "“not-an-email”"), (4, "annual_value"), (6, "signup_date"), (8, "ana@example.com"),
        (5, "staff@example.com"), (7, "no")]
    assert report.updated == 1 and report.not_found == 1 and report.created == 0
    ana = db.session.scalar(select(User).where(User.email == "ana@example.com"))
    profile = db.session.get(CustomerProfile, ana.id)
    assert (profile.company, profile.plan, profile.annual_value, str(profile.signup_date)) == (
        "Harbor", "Team", 12000.0, "2024-03-01")
    assert profile.attributes == {"owner": "Kim", "name": "Ana Lima"}
    first_import = profile.crm_imported_at

    again = crm_import.import_text(text)
    db.session.commit()
    db.session.expire_all()
    assert again.updated == 0 and again.unchanged == 1
    assert db.session.get(CustomerProfile, ana.id).crm_imported_at == first_import

    created = crm_import.import_text("email,name\nghost@example.com,Ghost Writer\n", create_missing=True)
    db.session.commit()
    ghost = db.session.scalar(select(User).where(User.email == "ghost@example.com"))
    assert created.created == 1 and ghost.display_name == "Ghost Writer" and ghost.password_hash is None
    assert db.session.get(CustomerProfile, ghost.id) is not None


def test_a_file_without_an_email_column_is_refused_whole(app):
    import pytest

    from community.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        crm_import.import_text("name,company\nAna,Harbor\n")
    assert "Line 1" in caught.value.message and "email" in caught.value.message


def test_segments_follow_the_editable_rule_and_votes_keep_their_weight(app, world):
    assert db.session.get(CustomerProfile, world.ana.id).segment == Segment.most_valuable.value
    assert db.session.get(CustomerProfile, world.bo.id).segment == Segment.ordinary.value
    vote = db.session.scalar(select(Vote).where(Vote.user_id == world.ana.id))
    assert (vote.segment, vote.weight) == ("most_valuable", 3.0)
    value = ideas.idea_value(world.idea.id)
    assert value.raw_votes == 1 and value.weighted == 3.0
    assert [(i.id, v.weighted) for i, v in ideas.priorities(segment="most_valuable")] == [(world.idea.id, 3.0)]
    assert ideas.priorities(segment="at_risk") == []

    # Raising the bar makes Ana ordinary; her earlier vote keeps the weight it was cast with.
    segments.update_rules(world.staff, {"high_value": 100_000, "weight_ordinary": 0.5})
    segments.recompute_segments()
    db.session.commit()
    assert db.session.get(CustomerProfile, world.ana.id).segment == Segment.ordinary.value
    assert ideas.idea_value(world.idea.id).weighted == 3.0
    other = ideas.submit_idea(world.bo, "Offline mode", "")
    ideas.cast_vote(world.ana, other)
    assert ideas.idea_value(other.id).weighted == 0.5


def test_at_risk_needs_a_paying_customer_with_support_load_or_silence(app):
    rules = segments.read_rules()
    classify, Inputs = segments.classify, segments.Inputs
    assert classify(Inputs(48_000, 0, 0), rules) is Segment.at_risk  # valuable and silent
    assert classify(Inputs(1_200, 5, 3), rules) is Segment.at_risk  # paying, many handoffs
    assert classify(Inputs(0, 5, 9), rules) is Segment.ordinary  # free: load alone is not a risk
    assert classify(Inputs(48_000, 4, 0), rules) is Segment.most_valuable
    assert classify(Inputs(1_200, 8, 0), rules) is Segment.growth_potential


def test_bad_rule_values_are_named(app, world):
    import pytest

    from community.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        segments.update_rules(world.staff, {"high_value": "lots", "weight_at_risk": 500})
    assert set(caught.value.fields) == {"high_value", "weight_at_risk"}
    with pytest.raises(ValidationFailed) as caught:
        segments.parse_plan_values("team = 12000\nfree")
    assert "Line 2" in caught.value.message


def test_timeline_spans_features_newest_first_and_pages(app, world):
    page = timeline.customer_timeline(world.ana.id, per_page=3)
    everything = timeline.full_timeline(world.ana.id)
    kinds = {i.kind for i in everything}
    assert {"vote", "comment", "reply", "accepted_answer", "notification"} <= kinds
    assert {i.feature for i in everything} >= {"ideas", "forum", "notifications"}
    moments = [i.at for i in everything]
    assert moments == sorted(moments, reverse=True)
    assert len(page.items) == 3 and page.has_more
    second = timeline.customer_timeline(world.ana.id, page=2, per_page=3)
    assert [i.key for i in page.items + second.items] == [i.key for i in everything[:6]]
    assert {i.feature for i in timeline.customer_timeline(world.ana.id, feature="forum").items} == {"forum"}


def test_interests_come_from_what_they_wrote(app, world):
    segments.recompute_segments()
    profile = db.session.get(CustomerProfile, world.bo.id)
    assert "export" in profile.interests or "mobile" in profile.interests


def test_contribution_points_for_accepted_answers_and_shipped_ideas(app, world):
    assert contribution.contribution_of(world.ana).breakdown == {"accepted_answers": 1}
    ideas.change_status(world.idea, ideas.parse_status("shipped"), world.staff, notify_users=False)
    db.session.commit()
    bo = contribution.contribution_of(world.bo)
    assert bo.breakdown == {"shipped_ideas": 1} and bo.points == 15
    assert [(c.user.id, c.points) for c in contribution.top_contributors()] == [(world.bo.id, 15), (world.ana.id, 10)]


def test_export_holds_every_timeline_item_and_deletion_anonymises_without_losing_posts(app, world):
    from community.customers.services.segments import segment_and_weight

    privacy.log_view(world.staff, world.ana)
    db.session.commit()
    exported = privacy.export_data(world.ana)
    keys = {item["key"] for item in exported["timeline"]}
    assert keys == {i.key for i in timeline.full_timeline(world.ana.id)}
    assert keys >= {f"vote:{v}" for v in db.session.scalars(select(Vote.id).where(Vote.user_id == world.ana.id))}
    assert exported["account"]["email"] == "ana@example.com"
    assert exported["profile"]["company"] == "Harbor Analytics" and exported["profile"]["attributes"]["region"] == "EMEA"
    assert exported["staff_views"][0]["staff"] == "Sam Staff"
    comment = next(i for i in exported["timeline"] if i["kind"] == "comment")
    assert comment["data"]["body"] == "We need this for our night shift."
    import json

    json.dumps(exported)  # JSON-able as it is

    threads_before = db.session.scalar(select(func.count()).select_from(Thread))
    replies_before = db.session.scalar(select(func.count()).select_from(Reply))
    ana_id = world.ana.id
    privacy.delete_account(world.ana, "correct horse battery")
    db.session.commit()
    db.session.expire_all()
    ana = db.session.get(User, ana_id)
    assert ana.is_deleted and not ana.active and ana.password_hash is None
    assert ana.email == f"deleted-{ana_id}@deleted.invalid" and ana.display_name == f"Former member {ana_id}"
    assert db.session.get(CustomerProfile, ana_id) is None
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == ana_id)) == 0
    # Nothing anyone reads is lost: the thread, her accepted answer (now anonymous) and her comment stay.
    assert db.session.scalar(select(func.count()).select_from(Thread)) == threads_before
    assert db.session.scalar(select(func.count()).select_from(Reply)) == replies_before
    answer = db.session.get(Reply, world.answer.id)
    assert answer.author_id == ana_id and answer.body.startswith("Open the note first")
    assert db.session.get(Thread, world.thread.id).accepted_reply_id == answer.id
    assert db.session.scalar(select(IdeaComment.body).where(IdeaComment.author_id == ana_id)).startswith("We need")
    assert db.session.get(Idea, world.idea.id).vote_count == 1
    assert segment_and_weight(ana_id) == (None, 1.0)
    assert ana_id not in {c.user.id for c in contribution.top_contributors()}


def test_other_features_plug_into_timeline_and_points_without_importing_customers(app, world):
    from sqlalchemy import literal

    from community.customers.services.timeline import TIMELINE_SOURCES, register_timeline_source
    from community.customers.services.contribution import CONTRIBUTION_RULES, register_contribution_rule
    from community.models.base import utcnow

    def beta_reports(user_id: int, limit: int | None) -> list[dict]:
        return [{"key": "beta_report:1", "at": utcnow(), "feature": "beta", "kind": "beta_report",
                 "title": "Sync loses a note", "detail": "confirmed", "link": "", "data": {"id": 1}}][:limit]

    register_timeline_source("beta_reports", beta_reports)
    register_contribution_rule(key="confirmed_reports", label=lambda: "Confirmed beta report", points=5,
                               counts=lambda: select(literal(world.bo.id), literal(2)))
    try:
        assert timeline.customer_timeline(world.ana.id).items[0].key == "beta_report:1"
        assert "beta_report:1" in {i["key"] for i in privacy.export_data(world.ana)["timeline"]}
        assert contribution.contribution_of(world.bo).breakdown == {"confirmed_reports": 2}
    finally:
        TIMELINE_SOURCES.pop("beta_reports")
        CONTRIBUTION_RULES.pop("confirmed_reports")
