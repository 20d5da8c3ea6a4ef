"""Backpressure for the chat: a bounded line in front of the engine, per process.

Without it every question that arrived got its own thread and went straight for a database connection:
above capacity the threads piled up, the pool ran dry, and every question (not only the excess) waited
30 s for a connection and failed. Now at most COKNOW_CHAT_ACTIVE questions are answered at once, at most
COKNOW_CHAT_WAITING wait for a turn (each at most COKNOW_CHAT_WAIT_MS), and any other question is refused
at once (the line is full, or the questions ahead of it would take longer than the longest wait at
the recent time per answer) with a "busy, try again in a moment" error (503 and Retry-After over HTTP, an {ok: false} socket
acknowledgement), before it reads or writes anything. Accepted questions keep their latency, and the
process recovers as soon as the excess stops.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from flask_babel import gettext as _

from community.errors import DomainError

# A client told to retry comes back after this many seconds (the line is short: it has moved on by then).
RETRY_AFTER_SECONDS = 1
# Weight of the newest turn in the moving average of the time per answer (about the last 10 turns count).
SMOOTHING = 0.1


class ChatBusy(DomainError):
    """More questions than this process can answer right now: refused at once, nothing stored."""

    status = 503
    code = "busy"

    def __init__(self) -> None:
        super().__init__(_("The assistant is busy right now. Please try again in a moment."))
        self.retry_after = RETRY_AFTER_SECONDS


class Admission:
    """At most `active` holders at once and `waiting` callers in line; everyone else is refused at once.

    active=0 switches the limit off (every caller is admitted at once, as before).
    """

    def __init__(self, active: int, waiting: int, wait_seconds: float) -> None:
        self.active = active
        self.waiting = waiting
        self.wait_seconds = wait_seconds
        self._slots = threading.Semaphore(max(active, 1))
        self._lock = threading.Lock()
        self._in_line = 0
        self._seconds_per_answer = 0.0  # a moving average of how long a turn is held
        self.admitted = 0
        self.refused = 0

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a turn for the block, or raise ChatBusy without waiting (line full) or after the longest wait."""
        if self.active <= 0:
            yield
            return
        if not self._slots.acquire(blocking=False):
            with self._lock:
                # Refuse at once when the line is full, or when the questions ahead of this one would
                # (at the recent time per answer) take longer than the longest wait: waiting would only
                # end in a refusal, later.
                ahead = (self._in_line + 1) * self._seconds_per_answer / self.active
                if self._in_line >= self.waiting or ahead > self.wait_seconds:
                    self.refused += 1
                    raise ChatBusy()
                self._in_line += 1
            try:
                got = self._slots.acquire(timeout=self.wait_seconds) if self.wait_seconds > 0 else False
            finally:
                with self._lock:
                    self._in_line -= 1
            if not got:
                with self._lock:
                    self.refused += 1
                raise ChatBusy()
        with self._lock:
            self.admitted += 1
        started = time.monotonic()
        try:
            yield
        finally:
            self._slots.release()
            took = time.monotonic() - started
            with self._lock:
                self._seconds_per_answer += SMOOTHING * (took - self._seconds_per_answer)

    def stats(self) -> dict[str, int]:
        """Counters for the health endpoint and benchmarks."""
        with self._lock:
            return {"active_limit": self.active, "waiting_limit": self.waiting, "waiting": self._in_line,
                    "admitted": self.admitted, "refused": self.refused}


_KEY = "coknow_chat_admission"
_CREATE = threading.Lock()


def for_app(app: Flask) -> Admission:
    """The app's one admission line, made from its settings on first use."""
    admission = app.extensions.get(_KEY)
    if admission is None:
        with _CREATE:
            admission = app.extensions.get(_KEY)
            if admission is None:
                admission = Admission(int(app.config["COKNOW_CHAT_ACTIVE"]), int(app.config["COKNOW_CHAT_WAITING"]),
                                      int(app.config["COKNOW_CHAT_WAIT_MS"]) / 1000)
                app.extensions[_KEY] = admission
    return admission


@contextmanager
def admitted() -> Iterator[None]:
    """Answer a question inside the current app's admission line (raises ChatBusy when it is full)."""
    with for_app(current_app._get_current_object()).admit():  # type: ignore[attr-defined]  # the proxy's real app
        yield
