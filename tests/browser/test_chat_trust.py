"""In a real browser, off-topic follow-ups in a conversation abstain, and the confidence badge is the
calibrated probability the engine stored (not a rescaled similarity)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.models import ChatMessage
from tests.browser.helpers import fresh

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "instance" / "screenshots"


def _send(box, text: str, replies: int):
    """Send text and wait for the bot's reply (the replies-th), which is returned."""
    box.locator("textarea[name=text]").fill(text)
    box.get_by_role("button", name="Send", exact=True).click()
    bot = box.locator(".chat-msg.chat-bot")
    expect(bot).to_have_count(replies, timeout=30_000)  # the first reply fits the bot's model
    return bot.last


def test_off_topic_follow_ups_abstain_and_the_badge_is_calibrated(app, help_center, live_server, page):
    page.goto(f"{live_server}/chat/")
    box = page.locator(".chat-page [data-chat]")

    answer = _send(box, "I forgot my password", 1)
    expect(answer).to_have_class(re.compile(r"chat-kind-answer"))
    expect(answer).to_contain_text("Reset a forgotten password")
    stored = fresh(select(ChatMessage.confidence).where(ChatMessage.reply_kind == "answer"))
    expect(answer.locator(".chat-confidence")).to_have_text(f"Confidence {round(stored * 100)}%")

    for n, off_topic in enumerate(("what's the weather in Paris", "Tell me a joke"), start=2):
        reply = _send(box, off_topic, n)
        expect(reply).to_have_class(re.compile(r"chat-kind-abstain"))
        expect(reply).to_contain_text("I couldn't find a good answer")
    expect(box.locator(".chat-kind-answer")).to_have_count(1)

    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"chat_trust_{width}.png"), full_page=True)
