"""Chat under overload (issue 21): a bounded admission line refuses the excess at once with "busy",
accepted questions are answered, and the service recovers as soon as the burst ends."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bot.admission import Admission, ChatBusy, for_app
from community.extensions import db
from community.models import ChatMessage
from tests.conftest import CSRF_META, csrf_token

API = "/api/v1/chat/messages"
QUESTION = "can I get my money back?"
# One question answered at once and one in line: a burst of BURST questions is far above capacity.
SMALL_LINE = {"COKNOW_CHAT_ACTIVE": 1, "COKNOW_CHAT_WAITING": 1, "COKNOW_CHAT_WAIT_MS": 3000,
              "RATELIMIT_ENABLED": False}
BURST = 16


def _messages() -> int:
    return db.session.scalar(select(func.count()).select_from(ChatMessage))


def _try(line: Admission) -> str:
    try:
        with line.admit():
            return "admitted"
    except ChatBusy:
        return "busy"


def test_the_line_admits_up_to_its_limits_and_refuses_the_rest_at_once():
    line = Admission(active=1, waiting=1, wait_seconds=0.05)
    with line.admit():
        started = time.monotonic()
        assert _try(line) == "busy"  # in line, then refused after the longest wait
        assert 0.04 <= time.monotonic() - started < 1
        # Someone waiting fills the line: the next caller is refused without waiting.
        line.wait_seconds = 0.5
        outcome: list[str] = []
        waiting = threading.Thread(target=lambda: outcome.append(_try(line)))
        waiting.start()
        deadline = time.monotonic() + 2
        while line.stats()["waiting"] == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        started = time.monotonic()
        assert _try(line) == "busy"
        assert time.monotonic() - started < 0.05
        waiting.join()
        assert outcome == ["busy"]
    assert _try(line) == "admitted"  # free again once the holder is done
    assert line.stats()["admitted"] == 2 and line.stats()["refused"] == 3


@pytest.mark.app_config(COKNOW_CHAT_ACTIVE=1, COKNOW_CHAT_WAITING=0)
def test_a_full_line_answers_busy_on_the_socket_http_and_form(app, help_center, client, open_socket):
    socket = open_socket("/chat", page="/chat/")
    token = csrf_token(client, "/chat/")
    chinese = app.test_client()
    chinese.set_cookie("coknow_lang", "zh")
    chinese_socket = open_socket("/chat", chinese, page="/chat/")
    with for_app(app).admit():  # the one turn is taken (a question being answered)
        ack = socket.emit("message", {"text": QUESTION}, namespace="/chat", callback=True)
        chinese_ack = chinese_socket.emit("message", {"text": QUESTION}, namespace="/chat", callback=True)
        response = client.post(API, json={"text": QUESTION})
        form = client.post("/chat/", data={"text": QUESTION, "csrf_token": token})
    assert ack["ok"] is False and ack["error"]["code"] == "busy"
    assert "try again in a moment" in ack["error"]["message"]
    # Refused before the event's request context is built, in the language the socket's page was shown in.
    assert chinese_ack["error"]["code"] == "busy" and chinese_ack["error"]["message"] == "助手现在很忙，请稍后再试。"
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "busy"
    assert form.status_code == 503 and form.headers["Retry-After"] == "1"
    assert _messages() == 0  # nothing half-written
    # The turn is free again: the same socket's question is answered.
    ack = socket.emit("message", {"text": QUESTION}, namespace="/chat", callback=True)
    assert ack["ok"] is True and ack["reply"]["kind"] == "answer"


@pytest.mark.app_config(**SMALL_LINE)
def test_a_burst_above_capacity_is_refused_fast_and_the_server_recovers(app, help_center):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        def visitor() -> tuple[requests.Session, str]:
            """A browser that opened the chat page: its own session cookie and CSRF token."""
            session = requests.Session()
            session.headers["Origin"] = base
            page = session.get(base + "/chat/", timeout=20).text
            match = CSRF_META.search(page)
            assert match
            return session, match.group(1)

        def ask(who: tuple[requests.Session, str]) -> tuple[int, float, str | None, str]:
            session, token = who
            started = time.monotonic()
            response = session.post(base + API, json={"text": QUESTION}, headers={"X-CSRFToken": token}, timeout=20)
            return (response.status_code, time.monotonic() - started, response.headers.get("Retry-After"),
                    (response.json().get("error") or {}).get("code", ""))

        assert ask(visitor())[0] == 201  # warm: the model and the index are loaded

        visitors = [visitor() for _ in range(BURST)]
        with ThreadPoolExecutor(BURST) as pool:
            results = list(pool.map(ask, visitors))
        answered = [r for r in results if r[0] == 201]
        refused = [r for r in results if r[0] == 503]
        assert len(answered) + len(refused) == BURST, results  # no timeout, no other error
        assert answered and refused, results
        assert all(r[2] == "1" and r[3] == "busy" for r in refused), refused
        # Refused at once (the line was full) rather than after waiting for a turn or a connection.
        assert sorted(r[1] for r in refused)[len(refused) // 2] < 0.5, refused

        recovered = time.monotonic()
        after = [ask(visitors[n]) for n in range(3)]
        assert [r[0] for r in after] == [201, 201, 201], after
        assert time.monotonic() - recovered < 5
        assert _messages() == 2 * (1 + len(answered) + 3)  # each answered question and its reply; no refused one
    finally:
        server.shutdown()
        serving.join(5)
