"""A small real SMTP server for tests: listens on 127.0.0.1, records what it accepts, can refuse mail.

Written on socketserver because the stdlib's smtpd/asyncore are deprecated (warnings are errors here).
"""
from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


def _address(arg: str) -> str:
    """The address in "FROM:<a@b> SIZE=1" or "TO:<a@b>"."""
    match = re.search(r"<([^>]*)>", arg)
    return match.group(1) if match else ""


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        recorder = self.server.recorder
        self.reply("220 test-smtp ready")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-test-smtp")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 test-smtp")
            elif verb == "MAIL":
                sender, recipients = _address(arg), []
                self.reply("250 OK")
            elif verb == "RCPT":
                if recorder.refuse:
                    self.reply("550 5.7.1 Mailbox unavailable (refused by the test server)")
                else:
                    recipients.append(_address(arg))
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    data = self.rfile.readline()
                    if data in (b".\r\n", b".\n", b""):
                        break
                    lines.append(data[1:] if data.startswith(b"..") else data)
                message = message_from_bytes(b"".join(lines), policy=policy.default)
                recorder.received.append(Received(sender, recipients, message))
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    recorder: SmtpRecorder


@dataclass
class SmtpRecorder:
    refuse: bool = False
    received: list[Received] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> SmtpRecorder:
        self._server = _Server((self.host, 0), _Session)
        self._server.recorder = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-smtp", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
