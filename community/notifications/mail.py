"""Hand a finished e-mail to SMTP, or to the log when no SMTP host is configured."""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any, Mapping

from flask.logging import default_handler, has_level_handler

log = logging.getLogger("coknow.mail")
# As Flask does for the app's logger: mail written to the log must show even where no logging is configured.
if log.level == logging.NOTSET:
    log.setLevel(logging.INFO)
if not has_level_handler(log):
    log.addHandler(default_handler)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls, ssl or none
    username: str
    password: str
    timeout: int


def smtp_settings(config: Mapping[str, Any]) -> SmtpSettings | None:
    """The app's SMTP settings, or None when mail goes to the log."""
    if not config.get("COKNOW_SMTP_HOST"):
        return None
    return SmtpSettings(
        host=config["COKNOW_SMTP_HOST"],
        port=config["COKNOW_SMTP_PORT"],
        security=config["COKNOW_SMTP_SECURITY"],
        username=config["COKNOW_SMTP_USERNAME"],
        password=config["COKNOW_SMTP_PASSWORD"],
        timeout=config["COKNOW_SMTP_TIMEOUT"],
    )


def build_message(sender: str, to: str, subject: str, text: str, html: str | None = None,
                  unsubscribe_url: str = "") -> EmailMessage:
    """A MIME message: plain text, with an HTML alternative when given."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    # Automatic notifications: ask autoresponders not to answer them.
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 8058: mail clients show an unsubscribe button that POSTs to this address.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class Transport:
    """Sends messages over one SMTP connection, opened on first use; without SMTP, logs them.

    Use as a context manager so the connection is closed.
    """

    def __init__(self, settings: SmtpSettings | None) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    @property
    def logs_only(self) -> bool:
        return self.settings is None

    def send(self, message: EmailMessage) -> None:
        """Deliver message; raises smtplib.SMTPException or OSError when the server refuses or is down."""
        if self.settings is None:
            # Readable text rather than the MIME source: the log is where people read it.
            log.info("e-mail not sent (no COKNOW_SMTP_HOST), logged instead:\nTo: %s\nSubject: %s\n\n%s",
                     message["To"], message["Subject"], _plain_text(message))
            return
        if self._smtp is None:
            self._smtp = self._connect(self.settings)
        try:
            self._smtp.send_message(message)
        except BaseException:
            # After any failure the session's state is unknown: start the next message afresh.
            self.close()
            raise

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @staticmethod
    def _connect(settings: SmtpSettings) -> smtplib.SMTP:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _plain_text(message: EmailMessage) -> str:
    """The plain-text part of a message we built (every message has one)."""
    part = message.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""
