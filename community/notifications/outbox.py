"""The e-mail outbox: queue notification e-mails with the change, deliver them after commit, retry failures.

A message is stored first and delivered later (a thread started after commit, and `flask coknow outbox
send`), so a slow or broken mail server never holds up or undoes a request, and no message is lost.
Whoever delivers first claims a message with one conditional UPDATE, so two senders never send it twice.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Iterable, Sequence

from flask import Flask, current_app, has_request_context, request
from flask_babel import LazyString, force_locale
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from community.database import changed_rows, page_offset
from community.extensions import db
from community.models import EmailStatus, OutgoingEmail, User, utcnow
from community.notifications.mail import Transport, build_message, smtp_settings
from community.notifications.preferences import group_for, unsubscribe_token
from community.realtime import after_commit, fresh_session

log = logging.getLogger("coknow.mail")

MAX_ATTEMPTS = 5
# Retries wait 2, 4, 8, 16 minutes: long enough for a mail server to come back, short enough to matter.
FIRST_RETRY = timedelta(minutes=2)
# A claim this old belongs to a sender that died (process restarted mid-send).
STUCK_AFTER = timedelta(minutes=15)
MAX_ERROR = 2000


# ---------------------------------------------------------------- links


def site_path(endpoint: str, **values: object) -> str:
    """A site-relative path for endpoint that builds inside and outside requests (CLI, threads)."""
    return current_app.url_map.bind("").build(endpoint, values)


def site_url(path: str) -> str:
    """An absolute link for e-mail: COKNOW_BASE_URL, else the current request's host."""
    if path.startswith(("http://", "https://")):
        return path
    base = current_app.config.get("COKNOW_BASE_URL") or ""
    if not base and has_request_context():
        base = request.url_root.rstrip("/")
    if not base:
        _warn_no_base_url()
    return base + path


@cache
def _warn_no_base_url() -> None:
    log.warning("COKNOW_BASE_URL is not set: e-mails queued outside a request have site-relative links")


# ---------------------------------------------------------------- queue


def queue_emails(users: Iterable[User], kind: str, title: str | LazyString, link: str = "",
                 body: str | LazyString = "") -> list[OutgoingEmail]:
    """Store one e-mail per active user for a notification; delivered after the caller commits."""
    config = current_app.config
    site = config["COKNOW_SITE_NAME"]
    group = group_for(kind)
    queued: list[OutgoingEmail] = []
    for user in users:
        if not user.active or not user.email:
            continue
        unsubscribe_url = site_url(site_path("notifications.unsubscribe", token=unsubscribe_token(user.id, kind)))
        locale = user.locale or config["BABEL_DEFAULT_LOCALE"]
        with force_locale(locale):  # a lazy title and body are written in the recipient's language
            subject_title, body_text = str(title), str(body)
        context = {
            "site_name": site,
            "title": subject_title,
            "body": body_text,
            "link_url": site_url(link or site_path("notifications.index")),
            "settings_url": site_url(site_path("notifications.settings")),
            "unsubscribe_url": unsubscribe_url,
            "user": user,
        }
        # Templates render straight from the environment: request-bound context processors do not apply.
        with force_locale(locale):
            context["group_label"] = str(group.label)
            text = current_app.jinja_env.get_template("notifications/email.txt").render(context)
            html = current_app.jinja_env.get_template("notifications/email.html").render(context)
        email = OutgoingEmail(
            user_id=user.id, to_address=user.email, subject=f"[{site}] {subject_title}"[:300], body_text=text,
            body_html=html, kind=kind, unsubscribe_url=unsubscribe_url, status=EmailStatus.queued, attempts=0,
        )
        db.session.add(email)
        queued.append(email)
    if queued:
        db.session.flush()
        send_after_commit([email.id for email in queued])
    return queued


def send_after_commit(email_ids: list[int]) -> None:
    """Deliver these messages once the current transaction commits, in a background thread."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's real app
    after_commit(lambda: _start(app, email_ids))


def _start(app: Flask, email_ids: list[int]) -> None:
    # Tests deliver inline (still after commit) so nothing runs on after the test's database is gone.
    if app.config.get("COKNOW_MAIL_BACKGROUND", not app.testing):
        threading.Thread(target=_deliver_in_context, args=(app, email_ids), name="coknow-mail", daemon=True).start()
    else:
        _deliver_in_context(app, email_ids)


def _deliver_in_context(app: Flask, email_ids: list[int]) -> None:
    with app.app_context():
        try:
            deliver(email_ids)
        except Exception:  # what is left queued or failed, `flask coknow outbox send` picks up
            log.exception("e-mail delivery stopped early")


# ---------------------------------------------------------------- deliver


@dataclass
class DeliveryReport:
    sent: int = 0
    logged: int = 0
    failed: int = 0
    recovered: int = 0  # claims of dead senders turned back into retryable failures

    def summary(self) -> str:
        return (f"{self.sent} sent, {self.logged} logged, {self.failed} failed"
                + (f", {self.recovered} interrupted sends recovered" if self.recovered else ""))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait before the next try after `attempts` tries."""
    return FIRST_RETRY * (2 ** max(attempts - 1, 0))


def _retryable(now: datetime, ignore_backoff: bool):
    condition = and_(OutgoingEmail.status == EmailStatus.failed, OutgoingEmail.attempts < MAX_ATTEMPTS)
    if not ignore_backoff:
        condition = and_(condition, or_(OutgoingEmail.next_attempt_at.is_(None), OutgoingEmail.next_attempt_at <= now))
    return condition


def deliver(email_ids: Sequence[int]) -> DeliveryReport:
    """Send the given queued messages (those another sender has not claimed)."""
    return _deliver(email_ids, OutgoingEmail.status == EmailStatus.queued)


def deliver_due(now: datetime | None = None, limit: int = 200, ignore_backoff: bool = False) -> DeliveryReport:
    """Send what is queued, retry failures whose wait is over, and recover sends a dead process left."""
    now = now or utcnow()
    with fresh_session() as session:
        recovered = changed_rows(session.execute(
            update(OutgoingEmail)
            .where(OutgoingEmail.status == EmailStatus.sending, OutgoingEmail.claimed_at < now - STUCK_AFTER)
            .values(status=EmailStatus.failed, next_attempt_at=now,
                    last_error="Interrupted: the sending process stopped before it finished.")
        ))
        session.commit()
        due = or_(OutgoingEmail.status == EmailStatus.queued, _retryable(now, ignore_backoff))
        ids = list(session.scalars(select(OutgoingEmail.id).where(due).order_by(OutgoingEmail.id).limit(limit)))
    report = _deliver(ids, due)
    report.recovered = recovered
    return report


def _deliver(email_ids: Sequence[int], claimable) -> DeliveryReport:
    report = DeliveryReport()
    config = current_app.config
    with fresh_session() as session, Transport(smtp_settings(config)) as transport:
        for email_id in email_ids:
            if not _claim(session, email_id, claimable):
                continue
            email = session.get(OutgoingEmail, email_id)
            if email is None:  # claimed a moment ago, so only a concurrent purge could remove it
                continue
            _send_one(session, transport, email, config["COKNOW_MAIL_FROM"], report)
    return report


def _claim(session: Session, email_id: int, claimable) -> bool:
    claimed = changed_rows(session.execute(
        update(OutgoingEmail).where(OutgoingEmail.id == email_id, claimable)
        .values(status=EmailStatus.sending, claimed_at=utcnow(), attempts=OutgoingEmail.attempts + 1)
    ))
    session.commit()
    return claimed == 1


def _send_one(session: Session, transport: Transport, email: OutgoingEmail, sender: str,
              report: DeliveryReport) -> None:
    try:
        transport.send(build_message(sender, email.to_address, email.subject, email.body_text, email.body_html,
                                     email.unsubscribe_url))
    except Exception as error:  # any failure keeps the message, with the reason, for a later retry
        email.status = EmailStatus.failed
        email.last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        email.next_attempt_at = utcnow() + retry_delay(email.attempts) if email.attempts < MAX_ATTEMPTS else None
        report.failed += 1
        log.warning("e-mail %s to %s failed (attempt %d of %d): %s", email.id, email.to_address, email.attempts,
                    MAX_ATTEMPTS, email.last_error)
    else:
        email.status = EmailStatus.logged if transport.logs_only else EmailStatus.sent
        email.sent_at = utcnow()
        email.next_attempt_at = None
        if transport.logs_only:
            report.logged += 1
        else:
            report.sent += 1
    session.commit()


# ---------------------------------------------------------------- staff view


def recent_emails(page: int = 1, per_page: int = 50, status: EmailStatus | None = None) -> tuple[list[OutgoingEmail], bool]:
    """One page of the outbox, newest first, and whether an older page exists."""
    stmt = select(OutgoingEmail)
    if status is not None:
        stmt = stmt.where(OutgoingEmail.status == status)
    rows = list(db.session.scalars(
        stmt.order_by(OutgoingEmail.created_at.desc(), OutgoingEmail.id.desc())
        .limit(per_page + 1).offset(page_offset(page, per_page))
    ))
    return rows[:per_page], len(rows) > per_page
