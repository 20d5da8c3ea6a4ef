"""A customer chats with the support bot in a real browser: cited answer, thumbs-down with a reason,
abstain with next steps, suggestions while typing, inert markup, and the launcher on other pages."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.models import AnswerFeedback, ChatMessage, Conversation
from tests.bot.chat_fixtures import UNRELATED
from tests.browser.helpers import fresh

pytestmark = pytest.mark.browser


def test_customer_gets_a_cited_answer_rates_it_and_is_told_plainly_when_the_bot_cannot_help(
        app, help_center, live_server, page):
    websockets = []
    page.on("websocket", lambda ws: websockets.append(ws.url))
    page.goto(f"{live_server}/chat/")
    box = page.locator(".chat-page [data-chat]")
    question = box.locator("textarea[name=text]")

    # Suggestions appear while typing, before anything is sent.
    question.press_sequentially("can I get my money back", delay=20)
    suggestion = box.locator(".chat-suggestions a", has_text="Refunds")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_have_attribute("href", "/help/articles/refund-policy")
    assert fresh(select(ChatMessage.id)) is None

    question.press("Enter")
    answer = box.locator(".chat-kind-answer").last
    expect(answer).to_contain_text("Here is what I found in “Refunds”")
    expect(answer.locator(".chat-passage mark")).to_have_count(1)
    expect(answer.locator(".chat-confidence")).to_contain_text(re.compile(r"Confidence \d+%"))
    expect(box.locator(".chat-suggestions")).to_be_hidden()
    assert any("/socket.io/" in url and "transport=websocket" in url for url in websockets)

    # The citation works.
    answer.locator("a.chat-source-link").click()
    expect(page).to_have_url(f"{live_server}/help/articles/refund-policy")
    expect(page.locator("h1")).to_have_text("Refunds")
    page.go_back()

    # 👎 asks for a reason and an optional comment.
    answer = box.locator(".chat-kind-answer").last
    answer.get_by_role("button", name="No, it did not help").click()
    reasons = answer.locator(".chat-reasons")
    expect(reasons).to_be_visible()
    reasons.get_by_label("Outdated").check()
    reasons.locator("textarea[name=comment]").fill("The refund window changed to 30 days.")
    reasons.get_by_role("button", name="Send").click()
    expect(answer.locator(".chat-feedback-status")).to_have_text("Thanks — this helps us fix the answer.")
    expect(reasons).to_be_hidden()
    feedback = fresh(select(AnswerFeedback))
    assert (feedback.helpful, feedback.reason, feedback.comment) == (
        False, "outdated", "The refund window changed to 30 days.")
    assert feedback.question == "can I get my money back"

    # An unrelated question: the bot says so and offers next steps.
    question.fill(UNRELATED)
    box.get_by_role("button", name="Send", exact=True).click()
    abstain = box.locator(".chat-kind-abstain").last
    expect(abstain).to_contain_text("I couldn't find a good answer")
    expect(abstain.get_by_role("link", name="Ask the community")).to_have_attribute(
        "href", re.compile(r"^/forum/new\?title=what%20is%20the%20weather%20in%20Paris%20tomorrow&from_message=\d+$"))
    abstain.get_by_role("button", name="Contact support").click()
    expect(box.locator(".chat-kind-handoff")).to_contain_text("A person will reply in this conversation")
    assert fresh(select(Conversation.handoff_requested_at)) is not None

    # A reload shows the same conversation.
    page.reload()
    expect(box.locator(".chat-msg.chat-customer")).to_have_count(2)


def test_markup_in_a_message_stays_text(app, help_center, live_server, page):
    page.goto(f"{live_server}/chat/")
    box = page.locator(".chat-page [data-chat]")
    evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    box.locator("textarea[name=text]").fill(evil)
    box.locator("textarea[name=text]").press("Enter")
    mine = box.locator(".chat-msg.chat-customer").last
    expect(mine).to_have_text(re.compile(re.escape(evil)))
    expect(box.locator(".chat-bot")).to_have_count(1)
    assert box.locator(".chat-log img").count() == 0 and box.locator(".chat-log script").count() == 0
    page.reload()
    expect(box.locator(".chat-msg.chat-customer").last).to_have_text(re.compile(re.escape(evil)))
    assert page.evaluate("window.__pwned") is None


def test_launcher_opens_the_chat_on_any_page(app, help_center, live_server, page):
    page.goto(f"{live_server}/help/")
    launcher = page.locator("[data-chat-launcher]")
    launcher.get_by_role("link", name="Chat with support").click()
    panel = launcher.locator(".chat-panel")
    expect(panel).to_be_visible()
    panel.locator("textarea[name=text]").fill("I forgot my password")
    panel.locator("textarea[name=text]").press("Enter")
    expect(panel.locator(".chat-kind-answer a.chat-source-link")).to_have_attribute(
        "href", "/help/articles/reset-password")
    # The same conversation is on the chat page.
    page.goto(f"{live_server}/chat/")
    expect(page.locator(".chat-page .chat-customer .chat-text")).to_have_text("I forgot my password")
    expect(page.locator("[data-chat-launcher]")).to_have_count(0)


def test_a_message_sent_before_the_launcher_is_ready_stays_in_this_browsers_conversation(
        app, help_center, live_server, page):
    # Hold the launcher's first request (the one that stores the chat key in the session cookie)
    # until after the customer has pressed Enter: the message must wait for it.
    held = []

    def hold_first_history(route):
        if route.request.method == "GET" and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/api/v1/chat/messages", hold_first_history)
    page.goto(f"{live_server}/help/")
    launcher = page.locator("[data-chat-launcher]")
    launcher.get_by_role("link", name="Chat with support").click()
    panel = launcher.locator(".chat-panel")
    panel.locator("textarea[name=text]").fill("I forgot my password")
    panel.locator("textarea[name=text]").press("Enter")
    page.wait_for_timeout(500)
    assert held, "the launcher did not ask for the history"
    held[0].continue_()
    expect(panel.locator(".chat-kind-answer a.chat-source-link")).to_have_attribute(
        "href", "/help/articles/reset-password")
    page.goto(f"{live_server}/chat/")
    expect(page.locator(".chat-page .chat-customer .chat-text")).to_have_text("I forgot my password")
