"""The /chat Socket.IO namespace: acknowledgements, typing, reconnect with history, limits, bad payloads."""
from __future__ import annotations

import gc
import re
import time

import pytest
from flask.ctx import RequestContext
from sqlalchemy import func, select

from community.extensions import db
from community.models import AnswerFeedback, ChatMessage, Conversation
from tests.bot.chat_fixtures import UNRELATED
from tests.conftest import forget_user

NS = "/chat"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def connect(open_socket):
    """Open a /chat socket for a Flask test client (the chat page is loaded first, as a browser does)."""
    def make(flask_client=None):
        socket = open_socket(NS, flask_client, page="/chat/")
        assert socket.is_connected(NS)
        return socket

    return make


def ask(socket, data, event="message"):
    forget_user()
    return socket.emit(event, data, namespace=NS, callback=True)


def test_message_ack_with_typing_and_a_cited_answer(app, help_center, connect, client):
    socket = connect()
    assert ask(socket, None, "history") == {"ok": True, "conversation_id": None, "messages": []}
    ack = ask(socket, {"text": "can I get my money back?", "client_id": "m1"})
    assert ack["ok"] is True and ack["duplicate"] is False
    assert ack["customer"]["role"] == "customer" and ack["customer"]["text"] == "can I get my money back?"
    reply = ack["reply"]
    assert reply["kind"] == "answer" and reply["reply"]["source"]["url"] == "/help/articles/refund-policy"
    assert "<mark>" in reply["html"] and 'href="/help/articles/refund-policy"' in reply["html"]
    # The asking window shows its own indicator; another window of the conversation is told.
    other = connect(client)
    ask(socket, {"text": "forgot my password"})
    assert not [m for m in socket.get_received(NS) if m["name"] == "typing"]
    typing = [m["args"][0]["typing"] for m in other.get_received(NS) if m["name"] == "typing"]
    assert typing == [True, False]
    stored = db.session.get(ChatMessage, reply["id"])
    assert stored.article_id == help_center["refund-policy"].id and stored.confidence == reply["reply"]["confidence"]


def test_an_answer_is_rendered_in_the_sockets_language_as_the_page_renders_it(app, help_center, connect):
    chinese = app.test_client()
    chinese.set_cookie("coknow_lang", "zh")
    socket = connect(chinese)
    reply = ask(socket, {"text": "can I get my money back?"})["reply"]
    confidence = round(reply["reply"]["confidence"] * 100)
    assert "这个回答有帮助吗？" in reply["html"] and "Did this answer help?" not in reply["html"]
    assert f"置信度 {confidence}%" in reply["html"]  # a catalogue string with a variable, %-formatted once
    # The socket's fragment and the chat page's list are one renderer: the same markup for the same message.
    page = chinese.get("/chat/").get_data(as_text=True)
    assert f'data-id="{reply["id"]}"' in page
    assert reply["html"].split("<form", 1)[0] in page


def test_a_sockets_answers_carry_one_signed_csrf_token_that_the_no_script_forms_accept(app, help_center, connect,
                                                                                         client):
    socket = connect(client)
    first = ask(socket, {"text": "can I get my money back?"})["reply"]
    time.sleep(1.1)  # a signature made a second later differs (it holds a timestamp in seconds)
    second = ask(socket, {"text": "forgot my password"})["reply"]
    tokens = [re.search(r'name="csrf_token" value="([^"]+)"', r["html"]).group(1) for r in (first, second)]
    assert tokens[0] == tokens[1]  # signed once for the socket, not once per event
    refused = client.post("/chat/feedback", data={"message_id": first["id"], "helpful": "1", "csrf_token": "x" + tokens[0]})
    assert refused.status_code == 400 and count(AnswerFeedback) == 0
    sent = client.post("/chat/feedback", data={"message_id": second["id"], "helpful": "1", "csrf_token": tokens[1]})
    assert sent.status_code == 302 and count(AnswerFeedback) == 1


def test_answering_over_the_socket_leaves_no_request_for_the_cycle_collector(app, help_center, connect):
    """Each event's request context once made a reference cycle (the URL map's NotFound for the socket's path held
    its frames): ~100 objects per event that only a full collection freed, with the gevent worker's event loop
    stopped. (Only this app's contexts are looked for: other tests' leftovers may become garbage meanwhile.)"""
    socket = connect()
    ask(socket, {"text": "can I get my money back?"})  # what loads once (templates, caches) is not per event
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        acks = [ask(socket, {"text": text}) for text in ("forgot my password", UNRELATED, "can I get my money back?")]
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, RequestContext) and o.app is app]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert [ack["reply"]["kind"] for ack in acks] == ["answer", "abstain", "answer"]
    assert left == []


def test_reconnect_keeps_the_conversation(app, help_center, connect, client):
    first = connect()
    ask(first, {"text": "can I get my money back?"})
    first.disconnect(namespace=NS)
    second = connect(client)
    history = ask(second, {}, "history")
    assert [m["role"] for m in history["messages"]] == ["customer", "bot"]
    assert history["messages"][0]["text"] == "can I get my money back?"
    assert history["conversation_id"] == db.session.scalar(select(Conversation.public_id))
    # The reconnected socket is in the conversation's room again: another window's question shows it typing.
    third = connect(client)
    ask(third, {"text": "forgot my password"})
    assert any(m["name"] == "typing" for m in second.get_received(NS))


def test_other_windows_of_the_conversation_see_new_messages(app, help_center, connect, client):
    tab_a, tab_b = connect(), connect()
    ask(tab_a, {"text": "can I get my money back?"})  # creates the conversation
    tab_b.disconnect(namespace=NS)
    tab_b = connect(client)  # joins the now existing conversation's room
    tab_b.get_received(NS)
    ack = ask(tab_a, {"text": "how do I reset my password"})
    pushed = [m["args"][0] for m in tab_b.get_received(NS) if m["name"] == "messages"]
    assert [p["reply"]["id"] for p in pushed] == [ack["reply"]["id"]]
    assert not [m for m in tab_a.get_received(NS) if m["name"] == "messages"]


def test_rate_limit_over_the_socket(app, help_center, connect):
    app.config["COKNOW_CHAT_RATE_PER_MINUTE"] = 1
    socket = connect()
    assert ask(socket, {"text": "refund?"})["ok"]
    ack = ask(socket, {"text": "forgot my password"})
    assert ack["ok"] is False and ack["error"]["code"] == "rate_limited"
    assert "1 a minute" in ack["error"]["message"]
    assert count(ChatMessage) == 2


@pytest.mark.parametrize("payload, code", [
    (None, "validation_error"),
    ("can I get my money back?", "validation_error"),
    ({}, "validation_error"),
    ({"text": 5}, "validation_error"),
    ({"text": ""}, "empty_message"),
    ({"text": "   "}, "empty_message"),
    ({"text": "refund " * 1000}, "message_too_long"),
    ({"text": "refund?", "client_id": ["x"]}, "validation_error"),
])
def test_bad_payloads_get_error_acks_and_store_nothing(app, help_center, connect, payload, code):
    socket = connect()
    ack = ask(socket, payload)
    assert ack["ok"] is False and ack["error"]["code"] == code and ack["error"]["message"]
    assert count(ChatMessage) == 0 and count(Conversation) == 0
    assert not [m for m in socket.get_received(NS) if m["name"] == "typing"]


def test_resending_a_client_id_returns_the_stored_reply(app, help_center, connect):
    socket = connect()
    one = ask(socket, {"text": "refund?", "client_id": "abc"})
    two = ask(socket, {"text": "refund?", "client_id": "abc"})
    assert two["ok"] and two["duplicate"] is True
    assert (two["customer"]["id"], two["reply"]["id"]) == (one["customer"]["id"], one["reply"]["id"])
    assert count(ChatMessage) == 2


def test_clarify_choose_and_feedback_over_the_socket(app, help_center, force_clarify, connect):
    socket = connect()
    clarify = ask(socket, {"text": "how do I install the app on my phone"})["reply"]
    assert clarify["kind"] == "clarify" and "Did you mean" in clarify["text"]
    ios = f"article:{help_center['install-ios'].id}"
    assert ask(socket, {"choice": "article:999", "message_id": clarify["id"]}, "choose")["ok"] is False
    chosen = ask(socket, {"choice": ios, "message_id": clarify["id"]}, "choose")
    assert chosen["ok"] and chosen["reply"]["kind"] == "answer"
    assert chosen["reply"]["reply"]["source"]["key"] == ios
    answer_id = chosen["reply"]["id"]
    assert ask(socket, {"message_id": answer_id, "helpful": False}, "feedback")["ok"]
    ack = ask(socket, {"message_id": answer_id, "helpful": False, "reason": "incomplete",
                       "comment": "Nothing about Android tablets"}, "feedback")
    assert ack == {"ok": True, "feedback": {"message_id": answer_id, "helpful": False, "reason": "incomplete"}}
    feedback = db.session.scalar(select(AnswerFeedback))
    assert count(AnswerFeedback) == 1 and feedback.comment == "Nothing about Android tablets"
    assert feedback.question == "how do I install the app on my phone"
    assert feedback.article_id == help_center["install-ios"].id
    bad = ask(socket, {"message_id": answer_id, "helpful": False, "reason": "meh"}, "feedback")
    assert bad["ok"] is False and bad["error"]["fields"] == {"reason": ["Unknown reason."]}
    assert ask(socket, "nope", "feedback")["ok"] is False


def test_abstain_and_handoff(app, help_center, connect):
    socket = connect()
    reply = ask(socket, {"text": UNRELATED})["reply"]
    assert reply["kind"] == "abstain"
    assert reply["ask_community_url"].startswith("/forum/new?title=what%20is%20the%20weather")
    assert "Ask the community" in reply["html"] and "Contact support" in reply["html"]
    handoff = ask(socket, {}, "handoff")
    assert handoff["ok"] and handoff["reply"]["kind"] == "handoff"
    assert db.session.scalar(select(Conversation.handoff_requested_at)) is not None


def test_suggestions_while_typing(app, help_center, connect):
    socket = connect()
    found = ask(socket, {"text": "money back refund"}, "suggest")["articles"]
    assert found[0] == {"title": "Refunds", "url": "/help/articles/refund-policy"}
    assert ask(socket, "refund", "suggest") == {"articles": []}
    assert count(ChatMessage) == 0


def test_signed_in_customer_sees_history_from_another_device(app, help_center, create_user, auth, connect):
    create_user(email="ana@example.com")
    auth.login("ana@example.com")
    laptop = connect()
    ask(laptop, {"text": "can I get my money back?"})
    phone_client = app.test_client()
    from tests.conftest import Auth

    forget_user()
    Auth(phone_client).login("ana@example.com")
    phone = connect(phone_client)
    history = ask(phone, None, "history")["messages"]
    assert [m["text"] for m in history if m["role"] == "customer"] == ["can I get my money back?"]
    # And an anonymous visitor sees none of it.
    stranger = connect(app.test_client())
    assert ask(stranger, None, "history")["messages"] == []
