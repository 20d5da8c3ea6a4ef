"""POST /api/v1/chat/messages and friends: the same replies as the socket, JSON errors, nothing stored on error."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db, socketio
from community.models import AnswerFeedback, ChatMessage, Conversation
from tests.bot.chat_fixtures import UNRELATED

API = "/api/v1/chat"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("question", ["can I get my money back?", UNRELATED])
def test_http_gives_the_same_reply_as_the_socket(app, help_center, question):
    socket_client, http_client = app.test_client(), app.test_client()
    socket_client.get("/chat/")
    socket = socketio.test_client(app, namespace="/chat", flask_test_client=socket_client)
    by_socket = socket.emit("message", {"text": question}, namespace="/chat", callback=True)["reply"]
    socket.disconnect(namespace="/chat")
    response = http_client.post(f"{API}/messages", json={"text": question})
    assert response.status_code == 201
    by_http = response.get_json()["reply"]
    assert by_http["kind"] == by_socket["kind"]
    assert (by_http["reply"]["source"] or {}).get("key") == (by_socket["reply"]["source"] or {}).get("key")
    assert by_http["reply"]["question"] == by_socket["reply"]["question"]
    # Two clients without shared cookies are two conversations.
    assert count(Conversation) == 2


def test_conversation_follows_the_session_cookie(app, help_center, client):
    first = client.post(f"{API}/messages", json={"text": "can I get my money back?", "client_id": "k1"})
    assert first.status_code == 201
    again = client.post(f"{API}/messages", json={"text": "can I get my money back?", "client_id": "k1"})
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    history = client.get(f"{API}/messages").get_json()
    assert history["conversation_id"] == first.get_json()["conversation_id"]
    assert [m["role"] for m in history["messages"]] == ["customer", "bot"]
    assert app.test_client().get(f"{API}/messages").get_json() == {"conversation_id": None, "messages": []}


@pytest.mark.parametrize("body, status, code", [
    ({"text": ""}, 422, "empty_message"),
    ({"text": "x" * 1001}, 422, "message_too_long"),
    ({"text": 5}, 422, "validation_error"),
    ({}, 422, "validation_error"),
    ("just a string", 422, "validation_error"),
])
def test_bad_messages_get_json_errors(app, help_center, client, body, status, code):
    response = client.post(f"{API}/messages", json=body)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert count(ChatMessage) == 0 and count(Conversation) == 0


def test_form_posts_are_refused(app, help_center, client):
    response = client.post(f"{API}/messages", data={"text": "refund?"})
    assert response.status_code == 415 and response.get_json()["error"]["code"] == "unsupported_media_type"
    assert count(ChatMessage) == 0


def test_rate_limit_is_a_429(app, help_center, client):
    app.config["COKNOW_CHAT_RATE_PER_MINUTE"] = 1
    assert client.post(f"{API}/messages", json={"text": "refund?"}).status_code == 201
    response = client.post(f"{API}/messages", json={"text": "forgot my password"})
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert count(ChatMessage) == 2


def test_choose_feedback_handoff_and_suggestions(app, help_center, force_clarify, client):
    clarify = client.post(f"{API}/messages", json={"text": "how do I install the app on my phone"}).get_json()["reply"]
    assert clarify["kind"] == "clarify"
    ios = f"article:{help_center['install-ios'].id}"
    chosen = client.post(f"{API}/choices", json={"choice": ios, "message_id": clarify["id"]})
    assert chosen.status_code == 201
    answer_id = chosen.get_json()["reply"]["id"]
    response = client.post(f"{API}/feedback", json={"message_id": answer_id, "helpful": False,
                                                    "reason": "not_my_question", "comment": "I meant Android"})
    assert response.status_code == 200 and response.get_json()["reason"] == "not_my_question"
    assert db.session.scalar(select(AnswerFeedback.comment)) == "I meant Android"
    # Someone else cannot vote on this answer.
    other = app.test_client().post(f"{API}/feedback", json={"message_id": answer_id, "helpful": True})
    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    handoff = client.post(f"{API}/handoff")
    assert handoff.status_code == 201 and handoff.get_json()["reply"]["kind"] == "handoff"
    found = client.get(f"{API}/suggestions?q=money+back+refund").get_json()["articles"]
    assert found[0]["url"] == "/help/articles/refund-policy"


def test_no_script_form_fallback(app, help_center, client):
    from tests.conftest import csrf_token

    token = csrf_token(client, "/chat/")
    response = client.post("/chat/", data={"text": "can I get my money back?", "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/chat/").get_data(as_text=True)
    assert "can I get my money back?" in page and 'href="/help/articles/refund-policy"' in page
    client.post("/chat/", data={"text": "", "csrf_token": token})
    assert "Type a question before sending." in client.get("/chat/").get_data(as_text=True)
    assert count(ChatMessage) == 2


def test_message_text_is_rendered_inert(app, help_center, client):
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    html = client.post(f"{API}/messages", json={"text": evil}).get_json()["customer"]["html"]
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=" in html
