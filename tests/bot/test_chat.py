"""Chat services: what is stored for each message, the limits, feedback, clarify and follow-ups."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from bot import chat
from community.errors import Conflict, NotFound, ValidationFailed
from community.extensions import db
from community.models import AnswerFeedback, Article, ChatMessage, Conversation, ConversationStatus
from tests.bot.chat_fixtures import UNRELATED

KEY = "session-key-a"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_answer_is_stored_with_kind_article_and_confidence(app, help_center):
    exchange = chat.send_message(None, KEY, "  can I get my money back?  ")
    db.session.commit()
    refund = help_center["refund-policy"]
    customer, bot = exchange.customer, exchange.reply
    assert customer.role == "customer" and customer.text == "can I get my money back?"
    assert bot.role == "bot" and bot.reply_kind == "answer" and bot.reply_to_id == customer.id
    assert bot.article_id == refund.id and (bot.source_type, bot.source_id) == ("article", str(refund.id))
    assert 0.5 <= bot.confidence <= 1.0 and bot.latency_ms > 0
    assert bot.question == "can I get my money back?"
    assert bot.payload["source"]["url"] == "/help/articles/refund-policy"
    start, end = bot.payload["highlights"][0]
    assert 0 <= start < end <= len(bot.payload["passage"])
    conversation = db.session.get(Conversation, customer.conversation_id)
    assert conversation.session_key == KEY and conversation.user_id is None
    assert conversation.status is ConversationStatus.bot and len(conversation.public_id) == 32


def test_unrelated_question_abstains_with_next_steps(app, help_center):
    bot = chat.send_message(None, KEY, UNRELATED).reply
    assert bot.reply_kind == "abstain" and bot.article_id is None
    assert bot.payload["next_steps"] == ["ask_community", "contact_staff"]
    data = chat.message_dict(bot)
    assert data["ask_community_url"] == (
        f"/forum/new?title=what%20is%20the%20weather%20in%20Paris%20tomorrow&from_message={bot.id}")


@pytest.mark.parametrize("text, error", [
    ("", chat.EmptyMessage), ("   \n ", chat.EmptyMessage), ("x" * 1001, chat.MessageTooLong),
    (5, ValidationFailed), (None, ValidationFailed),
])
def test_bad_messages_are_refused_and_nothing_is_stored(app, help_center, text, error):
    with pytest.raises(error) as caught:
        chat.send_message(None, KEY, text)
    db.session.rollback()
    assert caught.value.message
    assert count(ChatMessage) == 0 and count(Conversation) == 0


def test_max_chars_is_configurable(app, help_center):
    app.config["COKNOW_CHAT_MAX_CHARS"] = 10
    with pytest.raises(chat.MessageTooLong, match="the limit is 10"):
        chat.send_message(None, KEY, "refund please now")
    assert chat.send_message(None, KEY, "refund?").reply.reply_kind == "answer"


def test_rate_limit_refuses_with_a_clear_message_and_stores_nothing(app, help_center):
    app.config["COKNOW_CHAT_RATE_PER_MINUTE"] = 2
    chat.send_message(None, KEY, "refund?")
    chat.send_message(None, KEY, "forgot my password")
    db.session.commit()
    with pytest.raises(chat.ChatRateLimited) as caught:
        chat.send_message(None, KEY, "is there an ipad app")
    db.session.rollback()
    assert "2 a minute" in caught.value.message and "seconds" in caught.value.message
    assert caught.value.status == 429
    assert count(ChatMessage) == 4
    # Another visitor is not affected.
    assert chat.send_message(None, "other-session", "is there an ipad app").reply.reply_kind == "answer"


def test_rate_limit_counts_only_the_last_minute(app, help_center):
    from datetime import timedelta

    app.config["COKNOW_CHAT_RATE_PER_MINUTE"] = 1
    first = chat.send_message(None, KEY, "refund?").customer
    first.created_at = first.created_at - timedelta(seconds=61)
    db.session.commit()
    chat.send_message(None, KEY, "how do I reset my password")
    assert count(ChatMessage) == 4


def test_same_client_id_returns_the_stored_reply(app, help_center):
    one = chat.send_message(None, KEY, "refund?", client_id="c-1")
    db.session.commit()
    again = chat.send_message(None, KEY, "refund?", client_id="c-1")
    assert again.duplicate and (again.customer.id, again.reply.id) == (one.customer.id, one.reply.id)
    assert count(ChatMessage) == 2


def test_feedback_up_then_down_with_reason_replaces(app, help_center):
    bot = chat.send_message(None, KEY, "can I get my money back?").reply
    db.session.commit()
    chat.record_feedback(None, KEY, bot.id, True)
    db.session.commit()
    feedback = chat.record_feedback(None, KEY, bot.id, False, "outdated", "  The 14 days changed.  ")
    db.session.commit()
    assert count(AnswerFeedback) == 1
    assert (feedback.helpful, feedback.reason, feedback.comment) == (False, "outdated", "The 14 days changed.")
    assert feedback.question == "can I get my money back?"
    assert feedback.article_id == help_center["refund-policy"].id
    assert chat.message_dict(bot)["feedback"] == {"helpful": False, "reason": "outdated"}


def test_bad_feedback_is_refused(app, help_center):
    bot = chat.send_message(None, KEY, "can I get my money back?").reply
    abstain = chat.send_message(None, KEY, UNRELATED).reply
    db.session.commit()
    with pytest.raises(ValidationFailed):
        chat.record_feedback(None, KEY, bot.id, False, "boring")
    with pytest.raises(ValidationFailed):
        chat.record_feedback(None, KEY, bot.id, "yes")
    with pytest.raises(Conflict):  # well-formed, but an abstain cannot be rated (409, as the API document says)
        chat.record_feedback(None, KEY, abstain.id, True)
    with pytest.raises(NotFound):  # someone else's conversation
        chat.record_feedback(None, "another-visitor", bot.id, True)
    with pytest.raises(NotFound):  # a customer message is not an answer
        chat.record_feedback(None, KEY, bot.reply_to_id, True)
    db.session.rollback()
    assert count(AnswerFeedback) == 0


def test_clarify_then_choose_answers_the_pending_question(app, help_center, force_clarify):
    clarify = chat.send_message(None, KEY, "how do I install the app on my phone").reply
    db.session.commit()
    assert clarify.reply_kind == "clarify" and clarify.article_id is None
    keys = [c["key"] for c in clarify.payload["choices"]]
    assert 2 <= len(keys) <= 3
    ios = f"article:{help_center['install-ios'].id}"
    assert ios in keys
    with pytest.raises(ValidationFailed):
        chat.choose(None, KEY, f"article:{help_center['refund-policy'].id}", clarify.id)
    exchange = chat.choose(None, KEY, ios, clarify.id)
    db.session.commit()
    assert exchange.customer.text == "Tidepool on iPhone and iPad"
    assert exchange.reply.reply_kind == "answer"
    assert exchange.reply.article_id == help_center["install-ios"].id
    assert exchange.reply.question == "how do I install the app on my phone"


def test_context_comes_from_stored_messages(app, help_center, force_clarify):
    chat.send_message(None, KEY, "how do I install the app on my phone")
    context = chat.conversation_context(chat.open_for_message(None, KEY, None).state)
    assert context.pending_question == "how do I install the app on my phone"
    assert len(context.pending_choices) >= 2


def test_follow_up_uses_the_previous_question(app, help_center):
    chat.send_message(None, KEY, "how do I export my notes")
    db.session.commit()
    follow = chat.send_message(None, KEY, "as pdf?").reply
    assert follow.question == "how do I export my notes as pdf?"
    assert follow.reply_kind == "answer" and follow.article_id == help_center["export-markdown-pdf-html"].id


def test_anonymous_conversation_is_bound_to_the_session(app, help_center):
    chat.send_message(None, KEY, "refund?")
    db.session.commit()
    mine = chat.find_conversation(None, KEY)
    assert [m.role for m in chat.history(None, mine)] == ["customer", "bot"]
    assert chat.find_conversation(None, "someone-else") is None
    assert chat.history(None, None) == []


def test_signed_in_customer_keeps_history_across_sessions(app, help_center, create_user):
    ana = create_user()
    chat.send_message(ana, "laptop-session", "refund?")
    db.session.commit()
    phone = chat.find_conversation(ana, "phone-session")
    assert [m.text for m in chat.history(ana, phone)][0] == "refund?"
    chat.send_message(ana, "phone-session", "forgot my password")
    db.session.commit()
    assert count(Conversation) == 1
    assert [m.text for m in chat.history(ana, phone) if m.role == "customer"] == ["refund?", "forgot my password"]


def test_anonymous_conversation_joins_the_account_on_sign_in(app, help_center, create_user):
    chat.send_message(None, KEY, "refund?")
    db.session.commit()
    ana = create_user()
    shown = chat.find_conversation(ana, KEY)  # reading shows it, and writes nothing
    assert shown.user_id is None and [m.text for m in chat.history(ana, shown)][0] == "refund?"
    chat.send_message(ana, KEY, "and for annual plans?")
    db.session.commit()
    conversation = chat.find_conversation(ana, KEY)
    assert conversation.id == shown.id and conversation.user_id == ana.id
    assert [m.text for m in chat.history(ana, conversation) if m.role == "customer"] == ["refund?", "and for annual plans?"]
    assert chat.find_conversation(None, KEY) is None  # signed out again, the session sees nothing of it


def test_handoff_flags_the_conversation_once(app, help_center):
    chat.send_message(None, KEY, UNRELATED)
    message = chat.request_handoff(None, KEY)
    db.session.commit()
    conversation = chat.find_conversation(None, KEY)
    assert conversation.status is ConversationStatus.waiting_staff and conversation.handoff_requested_at
    assert message.reply_kind == "handoff" and "support team" in message.text
    assert chat.request_handoff(None, KEY).id == message.id


def test_suggestions_while_typing(app, help_center):
    found = chat.suggest_articles("money back refund")
    assert found[0] == {"title": "Refunds", "url": "/help/articles/refund-policy"}
    assert len(found) <= 3
    assert chat.suggest_articles("ab") == [] and chat.suggest_articles(None) == []
    assert count(ChatMessage) == 0


def test_an_answer_from_an_article_deleted_before_the_index_caught_up_stores_no_article(app, help_center):
    # The bot's index is a cache that catches up with the database: for a moment it may still cite an article
    # whose row is gone. The reply is stored, pointing at no article (never at a missing row).
    refund_id = help_center["refund-policy"].id
    with db.engine.begin() as connection:  # behind the index's back, as another process's delete would be
        connection.execute(delete(Article).where(Article.id == refund_id))
    exchange = chat.send_message(None, KEY, "can I get my money back?")
    db.session.commit()
    bot = exchange.reply
    assert (bot.reply_kind, bot.source_type, bot.source_id) == ("answer", "article", str(refund_id))
    assert bot.article_id is None
    db.session.expire_all()
    assert db.session.get(ChatMessage, bot.id).article_id is None
