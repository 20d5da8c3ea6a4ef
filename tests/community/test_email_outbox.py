"""The e-mail outbox: queued with the change, delivered after commit over real SMTP or to the log, retried."""
from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from community.config import ConfigError, load_config
from community.extensions import db
from community.models import EmailStatus, OutgoingEmail, Role, utcnow
from community.notifications import outbox
from community.notifications.services import notify
from tests.community.smtp_server import SmtpRecorder

BASE = "https://community.example.com"


@pytest.fixture
def smtp_server():
    server = SmtpRecorder().start()
    yield server
    server.stop()


def use_smtp(app, port: int) -> None:
    app.config.update(COKNOW_SMTP_HOST="127.0.0.1", COKNOW_SMTP_PORT=port, COKNOW_SMTP_SECURITY="none",
                      COKNOW_SMTP_TIMEOUT=5, COKNOW_MAIL_FROM="Tidepool Community <help@tidepool.test>")


def emails() -> list[OutgoingEmail]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutgoingEmail).order_by(OutgoingEmail.id)))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_notify_queues_and_logs_after_commit_without_smtp(app, create_user, caplog):
    app.config["COKNOW_BASE_URL"] = BASE
    bob = create_user(email="bob@example.com")
    caplog.set_level(logging.INFO, logger="coknow.mail")
    notify([bob], "forum.mention", "Ana mentioned you in “Sync”", "/forum/t/7", body="@bob have a look")
    (queued,) = emails()
    # Stored with the change, not sent inside the transaction.
    assert queued.status is EmailStatus.queued and queued.to_address == "bob@example.com"
    assert not [r for r in caplog.records if "logged instead" in r.getMessage()]
    db.session.commit()
    (email,) = emails()
    assert email.status is EmailStatus.logged and email.attempts == 1 and email.sent_at is not None
    assert email.subject == "[CoKnow] Ana mentioned you in “Sync”"
    assert f"{BASE}/forum/t/7" in email.body_text and "@bob have a look" in email.body_text
    assert f"{BASE}/notifications/settings" in email.body_text
    assert email.unsubscribe_url.startswith(f"{BASE}/notifications/unsubscribe/")
    assert email.unsubscribe_url in email.body_text and email.unsubscribe_url in email.body_html
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "coknow.mail" and r.levelno == logging.INFO)
    assert "To: bob@example.com" in logged and f"{BASE}/forum/t/7" in logged


def test_rolled_back_change_sends_nothing(app, create_user, caplog):
    bob = create_user()
    caplog.set_level(logging.INFO, logger="coknow.mail")
    notify([bob], "forum.reply", "A reply", "/forum/t/1")
    db.session.rollback()
    assert emails() == []
    assert not [r for r in caplog.records if "logged instead" in r.getMessage()]


def test_links_use_the_request_host_without_base_url(app, create_user):
    bob = create_user()
    with app.test_request_context("/", base_url="http://help.example.org"):
        notify([bob], "idea.status", "Idea planned", "/ideas/3")
        db.session.commit()
    (email,) = emails()
    assert "http://help.example.org/ideas/3" in email.body_text
    assert email.unsubscribe_url.startswith("http://help.example.org/notifications/unsubscribe/")


def test_inactive_accounts_get_no_email(app, create_user):
    gone = create_user()
    gone.active = False
    db.session.commit()
    notify([gone], "forum.reply", "A reply", "/forum/t/1")
    db.session.commit()
    assert emails() == []


def test_smtp_delivery_to_a_real_server(app, create_user, smtp_server):
    use_smtp(app, smtp_server.port)
    app.config["COKNOW_BASE_URL"] = BASE
    bob = create_user(email="bob@example.com")
    notify([bob], "gap.answered", "Your question now has an answer: Exporting", "/help/exporting")
    db.session.commit()
    (email,) = emails()
    assert email.status is EmailStatus.sent and email.last_error is None
    (got,) = smtp_server.received
    assert got.sender == "help@tidepool.test" and got.recipients == ["bob@example.com"]
    assert got.message["Subject"] == "[CoKnow] Your question now has an answer: Exporting"
    assert got.message["List-Unsubscribe"] == f"<{email.unsubscribe_url}>"
    assert got.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = got.message.get_body(("plain",)).get_content()
    html = got.message.get_body(("html",)).get_content()
    assert f"{BASE}/help/exporting" in text and f'href="{BASE}/help/exporting"' in html


def test_refused_send_stays_failed_then_a_later_retry_sends_it(app, create_user, smtp_server, runner):
    use_smtp(app, smtp_server.port)
    smtp_server.refuse = True
    bob = create_user(email="bob@example.com")
    notify([bob], "forum.reply", "Ana replied", "/forum/t/1")
    db.session.commit()
    (email,) = emails()
    assert email.status is EmailStatus.failed and email.attempts == 1
    assert "550" in email.last_error and "SMTPRecipientsRefused" in email.last_error
    assert email.next_attempt_at is not None and smtp_server.received == []
    # Within the backoff nothing is retried, even with the server back.
    smtp_server.refuse = False
    assert outbox.deliver_due().failed == 0
    assert emails()[0].attempts == 1
    result = runner.invoke(args=["coknow", "outbox", "send"])
    assert result.exit_code == 0 and "0 sent" in result.output
    later = utcnow() + outbox.retry_delay(1) + timedelta(seconds=1)
    report = outbox.deliver_due(now=later)
    assert (report.sent, report.failed) == (1, 0)
    (email,) = emails()
    assert email.status is EmailStatus.sent and email.attempts == 2 and email.sent_at is not None
    assert [r.recipients for r in smtp_server.received] == [["bob@example.com"]]


def test_server_down_is_retried_with_backoff_up_to_the_cap(app, create_user, runner):
    use_smtp(app, closed_port())
    bob = create_user()
    notify([bob], "forum.reply", "Ana replied", "/forum/t/1")
    db.session.commit()
    (email,) = emails()
    assert email.status is EmailStatus.failed and "ConnectionRefusedError" in email.last_error
    assert email.next_attempt_at - email.claimed_at >= outbox.retry_delay(1)
    for attempt in range(2, outbox.MAX_ATTEMPTS + 1):
        result = runner.invoke(args=["coknow", "outbox", "send", "--ignore-backoff"])
        assert result.exit_code == 0 and "1 failed" in result.output
        email = emails()[0]
        assert email.attempts == attempt
        if attempt < outbox.MAX_ATTEMPTS:  # each wait doubles
            wait = email.next_attempt_at - email.claimed_at
            assert outbox.retry_delay(attempt) <= wait < outbox.retry_delay(attempt) + timedelta(seconds=30)
            assert outbox.retry_delay(attempt) == 2 * outbox.retry_delay(attempt - 1)
    # The cap reached: kept as failed with its error, never tried again.
    assert email.status is EmailStatus.failed and email.next_attempt_at is None
    result = runner.invoke(args=["coknow", "outbox", "send", "--ignore-backoff"])
    assert "0 failed" in result.output and emails()[0].attempts == outbox.MAX_ATTEMPTS


def test_an_interrupted_send_is_recovered_and_never_sent_twice(app, create_user):
    bob = create_user()
    notify([bob], "forum.reply", "Ana replied", "/forum/t/1")
    db.session.commit()
    email = emails()[0]
    # A sender that died mid-send left its claim behind.
    email.status, email.claimed_at = EmailStatus.sending, utcnow() - outbox.STUCK_AFTER - timedelta(minutes=1)
    db.session.commit()
    assert outbox.deliver([email.id]).logged == 0  # claimed: the after-commit sender leaves it alone
    report = outbox.deliver_due()
    assert (report.recovered, report.logged) == (1, 1)
    assert emails()[0].status is EmailStatus.logged
    assert outbox.deliver_due().logged == 0 and outbox.deliver([email.id]).logged == 0


def test_delivery_runs_in_a_background_thread(app, create_user, smtp_server):
    use_smtp(app, smtp_server.port)
    app.config["COKNOW_MAIL_BACKGROUND"] = True
    bob = create_user()
    notify([bob], "forum.reply", "Ana replied", "/forum/t/1")
    db.session.commit()
    deadline = time.monotonic() + 10
    while emails()[0].status is not EmailStatus.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emails()[0].status is EmailStatus.sent and len(smtp_server.received) == 1


def test_staff_see_the_outbox_newest_first(app, client, auth, create_user):
    create_user(email="staff@example.com", role=Role.staff)
    create_user(email="cust@example.com")
    bob = create_user(email="bob@example.com")
    notify([bob], "forum.reply", "First reply", "/forum/t/1")
    db.session.commit()
    use_smtp(app, closed_port())
    notify([bob], "forum.reply", "Second reply", "/forum/t/1")
    db.session.commit()
    auth.login("cust@example.com")
    assert client.get("/notifications/outbox").status_code == 403
    auth.logout()
    auth.login("staff@example.com")
    page = client.get("/notifications/outbox").get_data(as_text=True)
    assert page.index("Second reply") < page.index("First reply")
    assert "ConnectionRefusedError" in page and "Logged" in page
    failed_only = client.get("/notifications/outbox?status=failed").get_data(as_text=True)
    assert "Second reply" in failed_only and "First reply" not in failed_only
    assert client.get("/notifications/outbox?status=nonsense&page=x").status_code == 200


def test_mail_settings_are_validated_at_start_up(tmp_path):
    config = load_config({"COKNOW_SMTP_HOST": "mail.example.com"}, tmp_path)
    assert (config["COKNOW_SMTP_SECURITY"], config["COKNOW_SMTP_PORT"]) == ("starttls", 587)
    assert load_config({"COKNOW_SMTP_SECURITY": "ssl"}, tmp_path)["COKNOW_SMTP_PORT"] == 465
    assert load_config({"COKNOW_BASE_URL": "https://c.example.com/"}, tmp_path)["COKNOW_BASE_URL"] == "https://c.example.com"
    for env, name in (({"COKNOW_SMTP_SECURITY": "tls"}, "COKNOW_SMTP_SECURITY"),
                      ({"COKNOW_SMTP_PORT": "smtp"}, "COKNOW_SMTP_PORT"),
                      ({"COKNOW_BASE_URL": "community.example.com"}, "COKNOW_BASE_URL"),
                      ({"COKNOW_MAIL_FROM": "nobody"}, "COKNOW_MAIL_FROM")):
        with pytest.raises(ConfigError, match=name):
            load_config(env, tmp_path)
