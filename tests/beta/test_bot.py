"""Known issues in the chat: a tester's own program first (even testers-only issues); public ones for everyone."""
from __future__ import annotations

from bot import chat
from community.beta.services import known_issues, reports
from community.beta.seed import seed_beta
from community.extensions import db
from community.models import BetaProgram, KnownIssue
from community.seed import SEED_DIR, SeedReport

QUESTION = "my tasks widget on samsung is not refreshing, it shows yesterday's tasks"


def _publish(beta, public: bool):
    report = reports.file_report(beta.tester, beta.build, kind="bug", severity="major",
                                 title="Today's tasks widget shows yesterday's tasks on Samsung")
    reports.change_state(beta.staff, report, "confirmed")
    issue = known_issues.publish(
        beta.staff, report, title="Today's tasks widget doesn't refresh on some Samsung phones",
        body="If Tidepool is in Samsung's Sleeping apps list, the widget can show yesterday's tasks.",
        workaround="Add Tidepool to Never sleeping apps (Settings › Battery).", public=public)
    db.session.commit()
    return issue


def test_a_tester_gets_their_programs_known_issue_first_others_do_not(app, help_center, beta):
    issue = _publish(beta, public=False)
    reply = chat.send_message(beta.tester, None, QUESTION).reply
    db.session.commit()
    assert reply.reply_kind == "answer" and reply.source_type == "beta_issue" and reply.source_id == str(issue.id)
    assert reply.text == ("This is a known issue in build 4.13.0-beta.1: “Today's tasks widget doesn't refresh on "
                          "some Samsung phones”.")
    assert "Add Tidepool to Never sleeping apps" in reply.payload["passage"]
    assert "Not fixed yet" in reply.payload["passage"]
    assert reply.payload["source"]["url"] == f"/beta/known-issues/{issue.id}"
    other = chat.send_message(beta.outsider, None, QUESTION).reply
    assert other.source_type != "beta_issue"


def test_a_public_known_issue_answers_everyone(app, help_center, beta):
    issue = _publish(beta, public=True)
    reply = chat.send_message(None, "anonymous-key", QUESTION).reply
    assert reply.reply_kind == "answer" and reply.source_type == "beta_issue" and reply.source_id == str(issue.id)


def test_seed_is_idempotent(app, create_user):
    create_user(email="maya@example.com", role="staff")
    create_user(email="zhang.wei@example.com")
    report = SeedReport()
    seed_beta(SEED_DIR, report)
    db.session.commit()
    assert report.created == {"beta programs": 2, "known issues": 6}
    again = SeedReport()
    seed_beta(SEED_DIR, again)
    db.session.commit()
    assert again.created == {"beta programs": 0, "known issues": 0}
    widgets = db.session.scalar(db.select(BetaProgram).where(BetaProgram.slug == "android-widgets"))
    assert [b.version for b in widgets.builds] == ["4.13.0-beta.1"] and len(widgets.features) == 5
    assert db.session.scalar(db.select(db.func.count()).select_from(KnownIssue)) == 6


def test_a_testers_bug_report_in_the_chat_is_offered_a_prefilled_report(app, help_center, client, auth, beta):
    exchange = chat.send_message(beta.tester, None, "The notebook widget crashes when I tap it")
    db.session.commit()
    offer = exchange.reply.payload["report_offer"]
    assert offer["label"] == "Report this for build 4.13.0-beta.1"
    assert offer["url"].startswith("/beta/report-from-chat?text=The+notebook+widget+crashes")
    assert chat.send_message(beta.outsider, None, "The widget crashes when I tap it").reply.payload.get("report_offer") is None
    assert chat.send_message(beta.tester2, None, "How do I export a page?").reply.payload.get("report_offer") is None
    db.session.commit()
    auth.login("tess@example.com")
    page = client.get("/chat/").get_data(as_text=True)
    assert "Report this for build 4.13.0-beta.1" in page
