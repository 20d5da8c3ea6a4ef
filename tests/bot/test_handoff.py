"""Handing a chat to a person: presence, what the customer is told, join stops the bot, staff replies
notify, close, hand back, and a staff reply saved as an article draft (services, both databases)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import chat, handoff
from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    Article,
    ArticleSource,
    ArticleStatus,
    ChatMessage,
    Conversation,
    ConversationStatus,
    CustomerProfile,
    Notification,
    StaffPresence,
    utcnow,
)
from tests.bot.chat_fixtures import UNRELATED

KEY = "visitor-key"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def staff(create_user):
    return create_user(email="sam@example.com", display_name="Sam Support", role="staff")


@pytest.fixture
def handed_off(app, help_center):
    """An anonymous visitor's conversation: one unanswered question, then a request for a person."""
    chat.send_message(None, KEY, UNRELATED)
    chat.request_handoff(None, KEY)
    db.session.commit()
    return db.session.scalar(select(Conversation))


def test_presence_is_shared_through_the_database_and_goes_stale(app, staff, create_user):
    assert handoff.staff_online() is False
    handoff.staff_connected(staff, "sid-1")
    db.session.commit()
    assert handoff.staff_online() is True and count(StaffPresence) == 1
    # A worker that died without a disconnect leaves a row behind: it stops counting after the timeout.
    db.session.get(StaffPresence, "sid-1").last_seen_at = utcnow() - timedelta(seconds=handoff.PRESENCE_TIMEOUT_SECONDS + 5)
    db.session.commit()
    assert handoff.staff_online() is False
    assert handoff.staff_seen("sid-1") is True and handoff.staff_online() is True
    handoff.staff_disconnected("sid-1")
    db.session.commit()
    assert handoff.staff_online() is False and handoff.staff_seen("sid-1") is False
    with pytest.raises(Forbidden):
        handoff.staff_connected(create_user(), "sid-2")
    assert count(StaffPresence) == 0


def test_the_customer_is_told_what_happens_next(app, help_center, staff, create_user):
    anonymous = chat.request_handoff(None, "a")
    assert "saved as a ticket" in anonymous.text and "come back to this chat in this browser" in anonymous.text
    assert "sign in" in anonymous.text
    customer = create_user()
    signed_in = chat.request_handoff(customer, None)
    assert "saved as a ticket" in signed_in.text and "notification" in signed_in.text
    handoff.staff_connected(staff, "sid-1")
    online = chat.request_handoff(None, "b")
    assert "A person will join here shortly" in online.text and "ticket" not in online.text
    conversation = db.session.get(Conversation, online.conversation_id)
    assert conversation.status is ConversationStatus.waiting_staff
    # Asking again (any time, e.g. from "Talk to a person") gives the same answer, not a second request.
    assert chat.request_handoff(None, "b").id == online.id


def test_queue_is_oldest_first_with_names_and_last_question(app, help_center, staff, create_user):
    chat.send_message(None, "early", "my export to PDF is blank")
    chat.request_handoff(None, "early")
    ana = create_user(display_name="Ana Lima")
    chat.send_message(ana, None, UNRELATED)
    chat.request_handoff(ana, None)
    chat.send_message(None, "bot-only", "can I get my money back?")  # never asked for a person
    db.session.commit()
    items = handoff.queue()
    assert [(i.customer_name, i.last_question) for i in items] == [
        ("Visitor", "my export to PDF is blank"), ("Ana Lima", UNRELATED)]
    assert items[0].wait_minutes == 0 and items[0].staff_name is None


def test_join_stops_the_bot_and_staff_replies_reach_the_conversation(app, handed_off, staff):
    # Waiting for a person, the bot still answers what it can.
    waiting = chat.send_message(None, KEY, "can I get my money back?")
    assert waiting.reply is not None and waiting.reply.reply_kind == "answer"
    joined = handoff.join(staff, handed_off)
    db.session.commit()
    assert joined.role == "staff" and joined.reply_kind == "joined" and joined.author_id == staff.id
    assert joined.text == "Sam Support from support joined the conversation."
    assert handed_off.status is ConversationStatus.with_staff and handed_off.staff_id == staff.id
    assert handoff.join(staff, handed_off) is None  # joining twice changes nothing
    before = count(ChatMessage)
    exchange = chat.send_message(None, KEY, "it is about my invoice", client_id="c1")
    db.session.commit()
    assert exchange.reply is None and exchange.customer.conversation_id == handed_off.id
    assert count(ChatMessage) == before + 1
    again = chat.send_message(None, KEY, "it is about my invoice", client_id="c1")
    assert again.duplicate and again.reply is None and count(ChatMessage) == before + 1
    answer = handoff.reply(staff, handed_off, "  I've refunded the invoice.  ")
    db.session.commit()
    assert (answer.role, answer.reply_kind, answer.text) == ("staff", "reply", "I've refunded the invoice.")
    assert chat.message_dict(answer)["author"] == "Sam Support"
    assert [(m.role, m.reply_kind) for m in chat.history(None, handed_off)][-3:] == [
        ("staff", "joined"), ("customer", None), ("staff", "reply")]
    assert count(Notification) == 0  # an anonymous visitor reads it when they come back


def test_a_signed_in_customer_is_notified_of_each_staff_reply(app, help_center, staff, create_user):
    ana = create_user(display_name="Ana Lima")
    chat.request_handoff(ana, None)
    conversation = db.session.scalar(select(Conversation))
    handoff.join(staff, conversation)
    handoff.reply(staff, conversation, "Hello Ana, looking into it.")
    db.session.commit()
    note = db.session.scalar(select(Notification))
    assert (note.user_id, note.kind, note.link) == (ana.id, "chat.staff_reply", "/chat/")
    assert note.title == "Sam Support from support replied in the chat" and note.body == "Hello Ana, looking into it."


def test_bad_staff_actions_are_refused_and_store_nothing(app, handed_off, staff, create_user):
    before = count(ChatMessage)
    with pytest.raises(handoff.NotJoined):
        handoff.reply(staff, handed_off, "hello")
    handoff.join(staff, handed_off)
    db.session.commit()
    before = count(ChatMessage)
    for text in ("", "   ", None, 5, "x" * 10_001):
        with pytest.raises(ValidationFailed):
            handoff.reply(staff, handed_off, text)
    other = create_user(role="staff", display_name="Other Staff")
    with pytest.raises(Conflict, match="Sam Support is already answering"):
        handoff.join(other, handed_off)
    with pytest.raises(handoff.NotJoined):
        handoff.reply(other, handed_off, "hello")
    with pytest.raises(Forbidden):
        handoff.join(create_user(), handed_off)
    with pytest.raises(Forbidden):
        handoff.get_conversation(create_user(), handed_off.public_id)
    with pytest.raises(NotFound):
        handoff.get_conversation(staff, "nope")
    with pytest.raises(ValidationFailed):
        handoff.get_conversation(staff, 12)
    db.session.rollback()
    assert count(ChatMessage) == before and handed_off.staff_id == staff.id


def test_close_tells_the_customer_and_the_next_message_goes_to_the_bot(app, handed_off, staff):
    handoff.join(staff, handed_off)
    closed = handoff.close(staff, handed_off)
    db.session.commit()
    assert closed.reply_kind == "closed" and "closed this conversation" in closed.text
    assert handed_off.status is ConversationStatus.closed and handed_off.closed_at is not None
    with pytest.raises(handoff.ConversationClosed):
        handoff.reply(staff, handed_off, "one more thing")
    exchange = chat.send_message(None, KEY, "can I get my money back?")
    db.session.commit()
    assert exchange.customer.conversation_id != handed_off.id and exchange.reply.reply_kind == "answer"
    assert handoff.queue() == []


def test_hand_back_lets_the_bot_answer_again(app, handed_off, staff):
    handoff.join(staff, handed_off)
    back = handoff.hand_back(staff, handed_off)
    db.session.commit()
    assert back.reply_kind == "handback" and handed_off.status is ConversationStatus.bot
    assert handed_off.staff_id is None and handed_off.handoff_requested_at is None
    assert chat.send_message(None, KEY, "can I get my money back?").reply.reply_kind == "answer"
    with pytest.raises(Conflict):
        handoff.hand_back(staff, handed_off)
    # The customer may ask for a person again: a new request, not the old message.
    again = chat.request_handoff(None, KEY)
    assert again.id != back.id and handed_off.status is ConversationStatus.waiting_staff


def test_a_staff_reply_saved_as_an_article_draft(app, handed_off, staff, create_user):
    handoff.join(staff, handed_off)
    chat.send_message(None, KEY, "How do I move my notes to a new phone?")
    answer = handoff.reply(staff, handed_off, "Sign in on the new phone: your notes sync within a minute.")
    db.session.commit()
    article = handoff.save_reply_as_draft(staff, answer.id)
    db.session.commit()
    assert article.status is ArticleStatus.draft and article.source is ArticleSource.ticket
    assert article.title == "How do I move my notes to a new phone?"
    assert article.body == "Sign in on the new phone: your notes sync within a minute."
    assert article.questions == ["How do I move my notes to a new phone?"] and article.author_id == staff.id
    assert handoff.save_reply_as_draft(staff, str(answer.id)).id == article.id  # once per reply
    joined = db.session.scalar(select(ChatMessage).where(ChatMessage.reply_kind == "joined"))
    customer = db.session.scalar(select(ChatMessage).where(ChatMessage.role == "customer"))
    for wrong in (joined.id, customer.id, 999_999):
        with pytest.raises(NotFound):
            handoff.save_reply_as_draft(staff, wrong)
    with pytest.raises(ValidationFailed):
        handoff.save_reply_as_draft(staff, "abc")
    with pytest.raises(Forbidden):
        handoff.save_reply_as_draft(create_user(), answer.id)
    assert count(Article) == 6  # the five of the help center and the draft


def test_the_console_shows_the_bots_last_answer_and_the_thumbs_down_reason(app, help_center, staff, create_user,
                                                                         client, auth):
    ana = create_user(email="ana@example.com", display_name="Ana Lima")
    db.session.add(CustomerProfile(user_id=ana.id, company="Acme Notes", plan="Team"))
    answered = chat.send_message(ana, None, "can I get my money back?").reply
    assert answered.reply_kind == "answer"
    chat.record_feedback(ana, None, answered.id, False, "outdated", "The refund window changed last month")
    chat.request_handoff(ana, None)
    db.session.commit()
    conversation = db.session.scalar(select(Conversation))

    auth.login("sam@example.com")
    page = client.get(f"/support/console?c={conversation.public_id}").get_data(as_text=True)
    context = page.split('class="console-context"', 1)[1].split("</section>", 1)[0]
    assert "Refunds" in context and "Confidence" in context
    assert "Outdated" in context and "The refund window changed last month" in context
    head = page.split("console-thread-head", 1)[1].split("</header>", 1)[0]
    assert "Plan: Team" in head and "Acme Notes" in head
    # The thumbs-down also sits on the answer it rated in the transcript.
    transcript = page.split('class="console-transcript"', 1)[1]
    assert transcript.count("console-verdict-down") == 1
