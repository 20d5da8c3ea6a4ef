"""The staff console over Socket.IO (/console) with a customer's chat (/chat) beside it: only staff get in,
presence changes what the customer is told, joining stops the bot, messages travel live both ways."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.handoff import staff_online
from community.extensions import db
from community.models import Article, ArticleStatus, ChatMessage, Conversation, ConversationStatus, Notification
from tests.bot.chat_fixtures import UNRELATED
from tests.conftest import forget_user
from tests.conftest import Auth

CHAT, CONSOLE = "/chat", "/console"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def sockets(open_socket):
    return lambda flask_client, namespace: open_socket(namespace, flask_client, page="/chat/" if namespace == CHAT else "/")


@pytest.fixture
def staff_client(app, create_user):
    create_user(email="sam@example.com", display_name="Sam Support", role="staff")
    flask_client = app.test_client()
    forget_user()
    Auth(flask_client).login("sam@example.com")
    forget_user()
    return flask_client


def ask(socket, event, data, namespace):
    forget_user()
    return socket.emit(event, data, namespace=namespace, callback=True)


def received(socket, namespace, name):
    return [m["args"][0] for m in socket.get_received(namespace) if m["name"] == name]


def test_only_staff_may_open_the_console(app, sockets, create_user):
    visitor = sockets(app.test_client(), CONSOLE)
    assert not visitor.is_connected(CONSOLE)
    create_user(email="ana@example.com")
    customer_client = app.test_client()
    forget_user()
    Auth(customer_client).login("ana@example.com")
    customer = sockets(customer_client, CONSOLE)
    assert not customer.is_connected(CONSOLE)
    assert staff_online() is False
    # And the console page itself.
    forget_user()
    assert customer_client.get("/support/console").status_code == 403
    forget_user()
    assert app.test_client().get("/support/console").status_code == 302


def test_presence_changes_what_the_customer_is_told(app, help_center, sockets, staff_client):
    customer = sockets(app.test_client(), CHAT)
    console = sockets(staff_client, CONSOLE)
    assert console.is_connected(CONSOLE) and staff_online() is True
    online = ask(customer, "handoff", {}, CHAT)["reply"]
    assert "A person will join here shortly" in online["text"]
    forget_user()
    console.disconnect(namespace=CONSOLE)
    assert staff_online() is False
    later = sockets(app.test_client(), CHAT)
    offline = ask(later, "handoff", {}, CHAT)["reply"]
    assert "saved as a ticket" in offline["text"] and "come back to this chat in this browser" in offline["text"]


def test_join_reply_and_close_travel_live_between_customer_and_staff(
        app, help_center, sockets, staff_client, create_user):
    ana = create_user(email="ana@example.com", display_name="Ana Lima")
    customer_client = app.test_client()
    forget_user()
    Auth(customer_client).login("ana@example.com")
    console = sockets(staff_client, CONSOLE)
    customer = sockets(customer_client, CHAT)

    abstain = ask(customer, "message", {"text": UNRELATED}, CHAT)
    assert abstain["reply"]["kind"] == "abstain"
    ask(customer, "handoff", {}, CHAT)
    changed = received(console, CONSOLE, "changed")
    conversation_id = db.session.scalar(select(Conversation.public_id))
    assert changed[-1]["conversation_id"] == conversation_id and changed[-1]["status"] == "waiting_staff"
    queue = ask(console, "queue", {}, CONSOLE)
    assert queue["ok"] and queue["count"] == 1 and "Ana Lima" in queue["html"] and "weather in Paris" in queue["html"]
    opened = ask(console, "open", {"conversation_id": conversation_id}, CONSOLE)
    assert opened["ok"] and opened["status"] == "waiting_staff" and "weather in Paris" in opened["html"]
    assert 'data-action="join"' in opened["html"]

    # Joining: the customer's chat shows who joined, live.
    joined = ask(console, "join", {"conversation_id": conversation_id}, CONSOLE)
    assert joined["ok"] and joined["status"] == "with_staff" and "console-reply" in joined["html"]
    pushed = received(customer, CHAT, "messages")
    assert [p["reply"]["text"] for p in pushed] == ["Sam Support from support joined the conversation."]
    assert pushed[0]["customer"] is None and pushed[0]["reply"]["role"] == "staff"

    # The bot is quiet now; the message reaches the console live.
    console.get_received(CONSOLE)
    ack = ask(customer, "message", {"text": "I was double charged", "client_id": "m2"}, CHAT)
    assert ack["ok"] and ack["reply"] is None and ack["customer"]["text"] == "I was double charged"
    assert not received(customer, CHAT, "typing")
    live = received(console, CONSOLE, "changed")
    assert [m["text"] for m in live[-1]["messages"]] == ["I was double charged"]
    assert count(ChatMessage) == 5  # question, abstain, handoff, joined, this message: no bot reply

    # The staff reply reaches the customer live and notifies them.
    reply = ask(console, "reply", {"conversation_id": conversation_id, "text": "Refunded, sorry about that."},
                CONSOLE)
    assert reply["ok"] and "Refunded, sorry about that." in reply["html"] and 'data-action="save_draft"' in reply["html"]
    pushed = received(customer, CHAT, "messages")
    assert pushed[-1]["reply"]["text"] == "Refunded, sorry about that."
    assert pushed[-1]["reply"]["author"] == "Sam Support" and "Sam Support from support" in pushed[-1]["reply"]["html"]
    note = db.session.scalar(select(Notification))
    assert (note.user_id, note.kind, note.link) == (ana.id, "chat.staff_reply", "/chat/")

    # Saved as a draft article, and the console is sent to its editor.
    staff_reply = db.session.scalar(select(ChatMessage).where(ChatMessage.reply_kind == "reply"))
    draft = ask(console, "save_draft", {"message_id": staff_reply.id}, CONSOLE)
    article = db.session.get(Article, draft["article_id"])
    assert draft["url"] == f"/help/manage/{article.id}/edit"
    assert article.status is ArticleStatus.draft and article.body == "Refunded, sorry about that."
    assert article.title == "I was double charged"

    # Closing tells the customer; their next message starts over with the bot.
    closed = ask(console, "close", {"conversation_id": conversation_id}, CONSOLE)
    assert closed["ok"] and closed["status"] == "closed"
    assert "closed this conversation" in received(customer, CHAT, "messages")[-1]["reply"]["text"]
    assert ask(console, "queue", {}, CONSOLE)["count"] == 0
    fresh = ask(customer, "message", {"text": "can I get my money back?"}, CHAT)
    assert fresh["reply"]["kind"] == "answer"
    assert count(Conversation) == 2


def test_the_api_keeps_its_shape_once_staff_joined(app, help_center, sockets, staff_client, client):
    client.post("/api/v1/chat/handoff")
    conversation_id = db.session.scalar(select(Conversation.public_id))
    console = sockets(staff_client, CONSOLE)
    assert ask(console, "join", {"conversation_id": conversation_id}, CONSOLE)["ok"]
    forget_user()
    response = client.post("/api/v1/chat/messages", json={"text": "hello?", "client_id": "h1"})
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"conversation_id", "customer", "reply", "duplicate"} and body["reply"] is None
    forget_user()
    history = client.get("/api/v1/chat/messages").get_json()["messages"]
    assert [(m["role"], m["kind"]) for m in history] == [("bot", "handoff"), ("staff", "joined"), ("customer", None)]


@pytest.mark.parametrize("event, payload, code", [
    ("open", None, "validation_error"),
    ("open", {"conversation_id": "missing"}, "not_found"),
    ("join", {}, "validation_error"),
    ("reply", {"conversation_id": "CONV"}, "validation_error"),
    ("reply", {"conversation_id": "CONV", "text": "  "}, "validation_error"),
    ("reply", {"conversation_id": "CONV", "text": "before joining"}, "not_joined"),
    ("save_draft", {"message_id": "x"}, "validation_error"),
    ("save_draft", {"message_id": 0}, "not_found"),
])
def test_bad_console_payloads_get_error_acks_and_store_nothing(
        app, help_center, sockets, staff_client, event, payload, code):
    customer = sockets(app.test_client(), CHAT)
    ask(customer, "handoff", {}, CHAT)
    conversation = db.session.scalar(select(Conversation))
    if isinstance(payload, dict) and payload.get("conversation_id") == "CONV":
        payload = {**payload, "conversation_id": conversation.public_id}
    console = sockets(staff_client, CONSOLE)
    before = count(ChatMessage)
    ack = ask(console, event, payload, CONSOLE)
    assert ack["ok"] is False and ack["error"]["code"] == code and ack["error"]["message"]
    assert count(ChatMessage) == before and count(Article) == 5
    db.session.refresh(conversation)
    assert conversation.status is ConversationStatus.waiting_staff


def test_console_page_shows_the_queue_and_an_opened_transcript(app, help_center, staff_client, client):
    forget_user()
    client.post("/api/v1/chat/messages", json={"text": "can I get my money back?"})
    forget_user()
    client.post("/api/v1/chat/handoff")
    conversation = db.session.scalar(select(Conversation))
    forget_user()
    page = staff_client.get("/support/console").get_data(as_text=True)
    assert 'href="/support/console"' in page  # in the staff navigation
    assert "Visitor" in page and "can I get my money back?" in page and "Choose a conversation" in page
    forget_user()
    opened = staff_client.get(f"/support/console?c={conversation.public_id}").get_data(as_text=True)
    # The whole transcript, the bot's answer with the article it cited.
    assert 'href="/help/articles/refund-policy"' in opened and 'data-action="join"' in opened
    forget_user()
    assert "Choose a conversation" in staff_client.get("/support/console?c=unknown").get_data(as_text=True)
