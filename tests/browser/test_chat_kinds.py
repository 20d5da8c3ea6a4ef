"""On the demo help center, the feature requests of issue 12 reach the ideas flow in the chat, not the
Linux or Android articles that weakly match them."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from community.extensions import db

pytestmark = pytest.mark.browser


def test_dark_mode_and_linear_requests_reach_the_ideas_flow(app, live_server, page, tmp_path):
    from community.seed import seed_demo

    seed_demo()
    db.session.commit()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/chat/")
    box = page.locator(".chat-page [data-chat]")
    ideas = box.locator(".chat-kind-idea")
    for n, text in enumerate(("can you add dark mode", "I wish Tidepool had a Linear integration"), 1):
        box.locator("textarea[name=text]").fill(text)
        box.locator("textarea[name=text]").press("Enter")
        expect(ideas).to_have_count(n, timeout=30_000)
    expect(ideas.nth(0).locator(".chat-idea-link")).to_have_text("Dark mode on Android")
    expect(ideas.nth(1).locator(".chat-idea-link")).to_have_text("Linear integration (like the GitHub one)")
    expect(ideas.nth(1).get_by_role("link", name="Not it? Suggest a new idea")).to_have_attribute(
        "href", "/ideas/new?title=I%20wish%20Tidepool%20had%20a%20Linear%20integration")
    # Neither reply cites an article.
    expect(box.locator(".chat-kind-answer")).to_have_count(0)
    shots = os.environ.get("COKNOW_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/chat-kinds-1280.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=f"{shots}/chat-kinds-390.png", full_page=True)
