"""Beta services: membership rules, reports and triage with notifications, merges, known issues, surveys, health."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.beta import services
from community.beta.services import health, known_issues, programs, reports, surveys
from community.errors import Conflict, Forbidden, ValidationFailed
from community.extensions import db
from community.models import (
    BetaMembership,
    MembershipStatus,
    Notification,
    OutgoingEmail,
    ReportState,
    ReportSupporter,
)


def _notes(user, kind_prefix="beta."):
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.kind.startswith(kind_prefix)).order_by(Notification.id)))


def test_apply_accept_capacity_terms_invite_and_leave(app, create_user):
    staff = create_user(role="staff")
    a, b, c = create_user(), create_user(), create_user()
    program = programs.save_program(staff, None, name="Small beta", capacity=1, terms="Keep it secret.")
    with pytest.raises(ValidationFailed) as err:
        programs.apply(a, program)
    assert "accept_terms" in err.value.fields
    row = programs.apply(a, program, accepted_terms=True, motivation="I use widgets daily")
    assert row.status is MembershipStatus.applied and row.terms_accepted_at is not None
    programs.decide(staff, row, accept=True)
    assert services.is_tester(program, a)
    assert [n.title for n in _notes(a)] == ["You're in: welcome to Small beta"]
    # Full: a second acceptance is refused, nothing changes.
    row_b = programs.apply(b, program, accepted_terms=True)
    with pytest.raises(Conflict):
        programs.decide(staff, row_b, accept=True)
    programs.leave(a, program)
    programs.decide(staff, row_b, accept=True)
    assert services.is_tester(program, b) and not services.is_tester(program, a)
    # Invite-only: applying is refused; an invitation (by e-mail) or a signed link lets people in.
    closed = programs.save_program(staff, None, name="Secret beta", enrollment="invite_only")
    with pytest.raises(Forbidden):
        programs.apply(c, closed)
    programs.invite(staff, closed, c.email.upper())
    assert _notes(c)[-1].title == "You're invited to test Secret beta"
    programs.apply(c, closed)
    assert services.is_tester(closed, c)
    token = programs.invitation_token(closed)
    programs.join_with_token(a, closed, token)
    assert services.is_tester(closed, a)
    with pytest.raises(ValidationFailed):
        programs.join_with_token(b, closed, token + "x")
    with pytest.raises(ValidationFailed) as err:
        programs.invite(staff, closed, "nobody@example.com")
    assert "email" in err.value.fields
    with pytest.raises(Forbidden):
        programs.save_program(a, None, name="Mine")


def test_new_build_notifies_testers_in_app_and_by_email_as_they_chose(beta):
    from community.notifications.preferences import save_preferences

    save_preferences(beta.tester2.id, in_app=["beta"], email=[], no_email=False)
    programs.release_build(beta.staff, beta.program, version="4.13.0-beta.2", notes="Fixes.")
    db.session.commit()
    assert _notes(beta.tester)[-1].title == "New build 4.13.0-beta.2 of Android widgets beta"
    assert _notes(beta.tester2)[-1].title == "New build 4.13.0-beta.2 of Android widgets beta"
    mailed = set(db.session.scalars(select(OutgoingEmail.to_address).where(
        OutgoingEmail.subject.contains("4.13.0-beta.2"))))
    assert mailed == {"tess@example.com"}
    assert _notes(beta.outsider) == []
    with pytest.raises(ValidationFailed) as err:
        programs.release_build(beta.staff, beta.program, version="4.13.0-beta.2")
    assert "version" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        programs.release_build(beta.staff, beta.program, version="x", download_url="javascript:alert(1)")
    assert "download_url" in err.value.fields


def test_report_triage_merge_known_issue_and_fix(beta):
    with pytest.raises(ValidationFailed) as err:
        reports.file_report(beta.tester, beta.build, kind="bug", title="Widget blank")
    assert "severity" in err.value.fields
    with pytest.raises(Forbidden):
        reports.file_report(beta.outsider, beta.build, kind="bug", severity="major", title="x")
    first = reports.file_report(beta.tester, beta.build, kind="bug", severity="major",
                                title="Widget shows a blank gray box after updating",
                                actual="The widget is an empty gray rectangle.", os_name="Android 14",
                                device="Pixel 8", app_version="4.13.0-beta.1")
    db.session.commit()
    assert reports.environment_of(beta.tester).device == "Pixel 8"
    dup = reports.file_report(beta.tester2, beta.build, kind="bug", severity="minor",
                              title="Widget is a blank grey box after the update")
    other = reports.file_report(beta.tester2, beta.build, kind="praise", title="Love the Material You colours")
    db.session.commit()
    groups = reports.duplicate_groups(beta.program.id)
    assert [(g.primary.id, [r.id for r, _s in g.duplicates]) for g in groups] == [(first.id, [dup.id])]
    assert other.id not in {r.id for g in groups for r, _s in g.duplicates}

    reports.change_state(beta.staff, first, "confirmed")
    db.session.commit()
    assert first.triaged_at is not None
    assert _notes(beta.tester)[-1].title == "Your report “Widget shows a blank gray box after updating” is now Confirmed"

    reports.merge(beta.staff, dup, first)
    db.session.commit()
    assert dup.merged_into_id == first.id and dup.state is ReportState.closed
    assert first.me_too_count == 1
    assert reports.reporters(first) == [beta.tester.id, beta.tester2.id]
    assert services.can_see_report(first, beta.tester2)
    with pytest.raises(Conflict):
        reports.merge(beta.staff, dup, first)

    issue = known_issues.publish(beta.staff, first, title="Widgets show a blank gray box after updating the beta",
                                 body="Some launchers keep the old widget layout.",
                                 workaround="Remove the widget and add it again.", public=False)
    db.session.commit()
    assert [b.id for b in issue.builds] == [beta.build.id]
    assert _notes(beta.tester2)[-1].title.startswith("Your report is now a known issue")
    assert known_issues.can_see(issue, beta.tester) and not known_issues.can_see(issue, beta.outsider)

    build2 = programs.release_build(beta.staff, beta.program, version="4.13.0-beta.2")
    reports.change_state(beta.staff, first, "fixed", fixed_in_build_id=build2.id)
    db.session.commit()
    assert issue.fixed_in_build_id == build2.id
    assert _notes(beta.tester)[-1].title == ("“Widget shows a blank gray box after updating” is fixed in build "
                                            "4.13.0-beta.2")
    with pytest.raises(ValidationFailed) as err:
        reports.change_state(beta.staff, first, "fixed", fixed_in_build_id=999_999)
    assert "fixed_in_build_id" in err.value.fields


def test_known_issue_match_is_for_testers_and_prefers_their_program(beta):
    report = reports.file_report(beta.tester, beta.build, kind="bug", severity="major",
                                 title="Today's tasks widget does not refresh on Samsung")
    reports.change_state(beta.staff, report, "confirmed")
    known_issues.publish(beta.staff, report, title="Today's tasks widget doesn't refresh on some Samsung phones",
                         body="If Tidepool is in Samsung's Sleeping apps list, the widget can show yesterday's tasks.",
                         workaround="Add Tidepool to Never sleeping apps.", public=False)
    db.session.commit()
    question = "my tasks widget is not refreshing on my samsung phone"
    match = known_issues.match_for_tester(beta.tester, question)
    assert match is not None and match.affects_build and match.build.id == beta.build.id
    assert known_issues.match_for_tester(beta.outsider, question) is None
    assert known_issues.match_for_tester(beta.tester, "how do I change my password") is None


def test_chat_prefill_and_current_build(beta):
    assert services.current_build_for(beta.outsider) is None
    assert services.current_build_for(beta.tester).id == beta.build.id
    offer = services.report_offer(beta.tester, "Hi! The widget crashes when I tap it. It happens every time.")
    assert offer["label"] == "Report this for build 4.13.0-beta.1"
    prefill = services.report_prefill("Hi! The widget crashes when I tap it. It happens every time.",
                                      ["I installed the beta yesterday"])
    assert prefill.title == "The widget crashes when I tap it"
    assert prefill.actual.startswith("I installed the beta yesterday")


def test_me_too_and_promote_to_idea(beta):
    report = reports.file_report(beta.tester, beta.build, kind="suggestion", title="Add a 1x1 widget size")
    assert reports.me_too(beta.tester2, report) is True
    assert reports.me_too(beta.tester2, report) is False
    assert reports.me_too(beta.tester, report) is False
    with pytest.raises(Forbidden):
        reports.me_too(beta.outsider, report)
    idea = reports.promote_to_idea(beta.staff, report)
    db.session.commit()
    assert report.idea_id == idea.id and idea.author_id == beta.tester.id
    assert db.session.scalar(select(func.count()).select_from(ReportSupporter)) == 1


def test_survey_results_and_health(beta):
    survey = surveys.create_survey(beta.staff, beta.build, "First impressions", [
        {"kind": "rating", "prompt": "How stable is it?", "scale_max": 5},
        {"kind": "single", "prompt": "Which widget do you use most?", "options": ["Tasks", "Page", "Notebook"]},
        {"kind": "multiple", "prompt": "Launchers", "options": ["Pixel", "Nova", "One UI"]},
        {"kind": "text", "prompt": "Anything else?"},
    ])
    q = {x.kind.value: x for x in survey.questions}
    surveys.respond(beta.tester, survey, {f"q{q['rating'].id}": "4", f"q{q['single'].id}": "Tasks",
                                          f"q{q['multiple'].id}": ["Nova", "Pixel"], f"q{q['text'].id}": "Nice"})
    surveys.respond(beta.tester2, survey, {f"q{q['rating'].id}": "2"})
    with pytest.raises(Conflict):
        surveys.respond(beta.tester2, survey, {f"q{q['rating'].id}": "2"})
    with pytest.raises(ValidationFailed):
        surveys._answer(q["rating"], 9)
    with pytest.raises(Forbidden):
        surveys.respond(beta.outsider, survey, {f"q{q['rating'].id}": "2"})
    responded, per_q = surveys.results(survey)
    assert responded == 2
    assert per_q[0].average == 3.0 and per_q[1].counts == {"Tasks": 1, "Page": 0, "Notebook": 0}
    assert per_q[2].counts == {"Pixel": 1, "Nova": 1, "One UI": 0} and per_q[3].texts == ["Nice"]

    r = reports.file_report(beta.tester, beta.build, kind="bug", severity="critical", title="Crash on tap")
    reports.change_state(beta.staff, r, "confirmed")
    db.session.commit()
    h = health.build_health(beta.program, beta.build)
    assert h.testers == 2 and h.active_testers == sorted([beta.tester.id, beta.tester2.id])
    assert h.by_kind["bug"] == [r.id] and h.by_severity["critical"] == [r.id]
    assert h.triaged_ids == [r.id] and h.median_triage_hours is not None
    assert h.survey_averages[0][2] == 3.0
    assert db.session.scalar(select(func.count()).select_from(BetaMembership)) == 2
