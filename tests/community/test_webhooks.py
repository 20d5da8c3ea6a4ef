"""Webhooks: a receiver started by the test gets a correctly signed delivery for each event kind; a failing
receiver is retried with exponential back-off and then disabled with a notice to staff; deliveries are
logged and can be re-sent; a rolled-back change sends nothing."""
from __future__ import annotations

import json
import re
import time
from datetime import datetime, UTC
from html import unescape

import pytest

from community import jobs
from community.extensions import db
from community.models import (
    DeliveryState,
    Notification,
    Role,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from community.webhooks import EVENTS
from community.webhooks import services as webhooks
from community.webhooks.delivery import SIGNATURE_HEADER, verify
from tests.community.webhook_receiver import Receiver
from tests.conftest import csrf_token


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def staff(create_user):
    return create_user("staff@example.com", display_name="Sam Staff", role=Role.staff)


@pytest.fixture
def endpoint(app, staff, receiver):
    made = webhooks.create_endpoint(staff, receiver.url, ["*"], "test receiver")
    db.session.commit()
    return made


@pytest.fixture
def schedule():
    """Retries wait in huey's schedule (tests run jobs inline); pop them to run them, and leave none behind."""
    def due() -> list:
        return jobs.huey.read_schedule(datetime(2100, 1, 1))

    yield due
    due()


def _checked(receiver: Receiver, secret: str) -> list[dict]:
    """Every received body, after checking its signature and headers the way a receiver would."""
    out = []
    for delivery in receiver.received:
        body = delivery.body.decode()
        assert verify(secret, delivery.headers[SIGNATURE_HEADER], body), delivery.headers
        assert not verify("whsec_wrong", delivery.headers[SIGNATURE_HEADER], body)
        assert not verify(secret, delivery.headers[SIGNATURE_HEADER], body.replace("}", " }", 1))
        parsed = json.loads(body)
        assert delivery.headers["CoKnow-Event"] == parsed["event"]
        assert delivery.headers["CoKnow-Event-Id"] == parsed["id"]
        assert delivery.headers["Content-Type"] == "application/json"
        out.append(parsed)
    return out


def test_every_event_kind_reaches_the_receiver_signed(app, help_center, create_user, staff, endpoint, receiver):
    from bot import capture, chat
    from community.forum import services as forum
    from community.ideas import services as ideas
    from community.kb import services as kb
    from tests.bot.chat_fixtures import UNRELATED

    customer = create_user("cu@example.com", display_name="Cu Stomer")
    receiver.received.clear()  # the help center was published before: only what follows counts
    first = ideas.submit_idea(customer, "Dark mode for the editor", "Please.")
    second = ideas.submit_idea(customer, "A dark theme for the editor", "Same thing.")
    db.session.commit()
    ideas.change_status(first, "planned", staff, "On the roadmap")
    db.session.commit()
    ideas.merge_ideas(second, first, staff)
    db.session.commit()
    category = forum.save_category(None, name="Questions")
    db.session.commit()
    thread = forum.create_thread(customer, category, "How do I export to PDF?", "I cannot find it.")
    db.session.commit()
    reply = forum.post_reply(staff, thread, "Use File, then Export.")
    db.session.commit()
    forum.accept_answer(customer, thread, reply)
    db.session.commit()
    gap = capture.record_gap(UNRELATED, capture.GapSource.abstain, user=customer)
    db.session.commit()
    other_gap = capture.record_gap("how do I pay with bitcoin", capture.GapSource.abstain, user=customer)
    db.session.commit()
    capture.dismiss_gap(other_gap, "out of scope", staff)
    db.session.commit()
    article = kb.create_article("Weather and your notes", "We do not forecast the weather.", author=staff)
    capture.link_gap_to_article(gap, article, staff)
    db.session.commit()
    kb.publish_article(article, staff)  # the bot hears it (article_saved) and closes the gap
    db.session.commit()
    chat.request_handoff(customer, None)
    db.session.commit()
    webhooks.ping(staff, endpoint)
    db.session.commit()

    bodies = _checked(receiver, endpoint.secret)
    seen = {b["event"] for b in bodies}
    assert seen == set(EVENTS), set(EVENTS) - seen
    by_event: dict[str, list[dict]] = {}
    for body in bodies:
        by_event.setdefault(body["event"], []).append(body["data"])
    assert {d["id"] for d in by_event["idea.created"]} == {first.id, second.id}
    assert by_event["idea.status_changed"][0]["to_status"] == "planned"
    assert by_event["idea.status_changed"][0]["idea"]["id"] == first.id
    assert by_event["idea.merged"][0] == {"source_id": second.id, "target": by_event["idea.merged"][0]["target"],
                                          "merged_by_id": staff.id}
    assert by_event["thread.created"][0]["title"] == "How do I export to PDF?"
    assert by_event["answer.accepted"][0]["reply"]["id"] == reply.id
    assert {d["title"] for d in by_event["gap.created"]} == {UNRELATED, "how do I pay with bitcoin"}
    closed = {d["gap"]["id"]: d["resolution"] for d in by_event["gap.closed"]}
    assert closed == {gap.id: "answered", other_gap.id: "dismissed"}
    assert [d["slug"] for d in by_event["article.published"]] == [article.slug]
    assert by_event["conversation.handed_off"][0]["status"] == "waiting_staff"
    stored = db.session.query(WebhookDelivery).all()
    assert len(stored) == len(bodies) and all(d.state is DeliveryState.delivered and d.last_status == 200
                                              for d in stored)


def test_an_endpoint_gets_only_the_events_it_chose(app, staff, receiver, create_user):
    from community.ideas import services as ideas

    chosen = webhooks.create_endpoint(staff, receiver.url, ["idea.status_changed"])
    db.session.commit()
    idea = ideas.submit_idea(create_user(), "Calendar sync", "")
    db.session.commit()
    assert receiver.received == []
    ideas.change_status(idea, "planned", staff)
    db.session.commit()
    assert [b["event"] for b in _checked(receiver, chosen.secret)] == ["idea.status_changed"]


def test_a_rolled_back_change_sends_nothing(app, staff, endpoint, receiver, create_user):
    from community.ideas import services as ideas

    ideas.submit_idea(create_user(), "Never kept", "")
    db.session.rollback()
    assert receiver.received == [] and db.session.query(WebhookDelivery).count() == 0


def test_a_failing_receiver_is_retried_with_back_off_then_disabled(app, staff, endpoint, receiver, schedule,
                                                                   create_user):
    from community.ideas import services as ideas

    app.config.update(COKNOW_WEBHOOK_MAX_ATTEMPTS=4, COKNOW_WEBHOOK_RETRY_SECONDS=30,
                      COKNOW_WEBHOOK_DISABLE_AFTER=1)
    receiver.statuses = [500, 503, 502, 500]
    ideas.submit_idea(create_user(), "Export to Word", "")
    db.session.commit()
    delivery = db.session.query(WebhookDelivery).one()
    waits = []
    for _ in range(3):
        due = schedule()
        assert len(due) == 1, "exactly one retry is waiting"
        task = due[0]
        waits.append((task.eta.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds())
        jobs.huey.execute(task, timestamp=task.eta)  # the moment the worker would run it
    assert schedule() == []  # the fourth try was the last
    # 30 s, then 60 s, then 120 s: each wait doubles.
    assert [round(w / 30) for w in waits] == [1, 2, 4], waits
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, delivery.id)
    assert delivery.state is DeliveryState.failed and delivery.attempts == 4 and delivery.last_status == 500
    assert [a.status for a in delivery.attempt_log] == [500, 503, 502, 500]
    assert len(receiver.received) == 4
    assert len({d.headers["CoKnow-Event-Id"] for d in receiver.received}) == 1
    stopped = db.session.get(WebhookEndpoint, endpoint.id)
    assert not stopped.active and "failed" in stopped.disabled_reason
    notice = db.session.query(Notification).filter_by(kind="webhook.disabled").one()
    assert notice.user_id == staff.id and notice.link == f"/integrations/webhooks/{endpoint.id}"
    # A disabled endpoint gets nothing more.
    ideas.submit_idea(create_user(), "Export to Excel", "")
    db.session.commit()
    assert len(receiver.received) == 4 and db.session.query(WebhookDelivery).count() == 1


def test_an_unreachable_receiver_is_logged_without_a_status(app, staff, schedule, create_user):
    from community.ideas import services as ideas

    app.config.update(COKNOW_WEBHOOK_MAX_ATTEMPTS=1, COKNOW_WEBHOOK_DISABLE_AFTER=3)
    with Receiver() as gone:
        url = gone.url
    webhooks.create_endpoint(staff, url, ["idea.created"])
    db.session.commit()
    ideas.submit_idea(create_user(), "Nobody listens", "")
    db.session.commit()
    attempt = db.session.query(WebhookAttempt).one()
    assert attempt.status is None and "refused" in attempt.error.lower()
    endpoint = db.session.query(WebhookEndpoint).one()
    assert endpoint.active and endpoint.consecutive_failures == 1  # not yet three in a row


def test_staff_re_enable_and_re_send_by_hand(app, client, auth, staff, endpoint, receiver, create_user):
    from community.ideas import services as ideas

    app.config.update(COKNOW_WEBHOOK_MAX_ATTEMPTS=1, COKNOW_WEBHOOK_DISABLE_AFTER=1)
    receiver.statuses = [410]
    ideas.submit_idea(create_user(), "Export to Word", "")
    db.session.commit()
    failed = db.session.query(WebhookDelivery).one()
    assert failed.state is DeliveryState.failed
    auth.login("staff@example.com")
    page = client.get(f"/integrations/webhooks/{endpoint.id}").get_data(as_text=True)
    assert "410" in page and "Disabled" in page
    token = csrf_token(client, f"/integrations/webhooks/{endpoint.id}")
    refused = client.post(f"/integrations/webhooks/{endpoint.id}/deliveries/{failed.id}/resend",
                          data={"csrf_token": token}, follow_redirects=True)
    assert "Re-enable the endpoint" in refused.get_data(as_text=True)
    client.post(f"/integrations/webhooks/{endpoint.id}/enable", data={"csrf_token": token})
    client.post(f"/integrations/webhooks/{endpoint.id}/deliveries/{failed.id}/resend", data={"csrf_token": token})
    db.session.expire_all()
    again = db.session.query(WebhookDelivery).filter(WebhookDelivery.id != failed.id).one()
    assert again.state is DeliveryState.delivered and again.resend_of_id == failed.id
    assert again.event_id == failed.event_id and receiver.received[-1].body == receiver.received[0].body
    assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 0


def test_webhook_pages_are_staff_only_and_show_the_secret_once(app, client, auth, create_user, receiver):
    create_user("customer@example.com")
    create_user("staff@example.com", role=Role.staff)
    auth.login("customer@example.com")
    assert client.get("/integrations").status_code == 403
    auth.logout()
    auth.login("staff@example.com")
    token = csrf_token(client, "/integrations")
    bad = client.post("/integrations/webhooks", data={"url": "ftp://example.com", "events": ["idea.created"],
                                                      "csrf_token": token})
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    created = client.post("/integrations/webhooks", data={"url": receiver.url, "events": ["idea.created"],
                                                          "description": "CRM", "csrf_token": token})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    endpoint = db.session.query(WebhookEndpoint).one()
    assert endpoint.secret in created.get_data(as_text=True)
    assert endpoint.secret not in client.get(f"/integrations/webhooks/{endpoint.id}").get_data(as_text=True)
    client.post(f"/integrations/webhooks/{endpoint.id}/ping", data={"csrf_token": token})
    assert [json.loads(d.body)["event"] for d in receiver.received] == ["ping"]


def test_the_documented_verification_example_accepts_a_real_delivery(app, client, staff, endpoint, receiver):
    webhooks.ping(staff, endpoint)
    db.session.commit()
    page = client.get("/developers/webhooks").get_data(as_text=True)
    code = unescape(re.search(r'<code id="verify-python">(.*?)</code>', page, re.S).group(1))
    namespace: dict = {}
    exec(compile(code, "webhook_docs", "exec"), namespace)  # noqa: S102 (the example exactly as a reader copies it)
    delivery = receiver.received[0]
    header = delivery.headers[SIGNATURE_HEADER]
    assert namespace["verify"](endpoint.secret, header, delivery.body)
    assert not namespace["verify"](endpoint.secret, header, delivery.body + b" ")
    stale = f"t={int(time.time()) - 3600},v1=" + header.split("v1=")[1]
    assert not namespace["verify"](endpoint.secret, stale, delivery.body)


def test_a_savepoint_inside_the_transaction_neither_sends_early_nor_drops_the_event(app, staff, endpoint, receiver,
                                                                                   create_user):
    from community.ideas import services as ideas

    author = create_user()
    ideas.submit_idea(author, "Sent only at the commit", "")
    with db.session.begin_nested():  # released: must not count as the commit
        pass
    assert receiver.received == []
    try:
        with db.session.begin_nested():  # rolled back: must not drop what the outer transaction queued
            raise ValueError("one bad import record")
    except ValueError:
        pass
    assert receiver.received == []
    db.session.commit()
    assert [b["event"] for b in _checked(receiver, endpoint.secret)] == ["idea.created"]
