"""A customer's feature request in the chat meets the known idea; they vote and follow it from the chat."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.ideas import services as idea_services
from community.models import Idea

pytestmark = pytest.mark.browser


def test_request_meets_the_idea_and_is_voted_from_the_chat(app, help_center, live_server, page, create_user):
    idea = idea_services.submit_idea(create_user(), "Export pages to Word (.docx)", "Word documents for clients.")
    db.session.commit()
    idea_id = idea.id
    create_user(email="cleo@example.com")

    page.goto(f"{live_server}/chat/")
    box = page.locator(".chat-page [data-chat]")
    box.locator("textarea[name=text]").fill("It would be great to export pages as Word documents")
    box.locator("textarea[name=text]").press("Enter")
    known = box.locator(".chat-kind-idea").last
    expect(known).to_contain_text("This is a known request: “Export pages to Word (.docx)”")
    # Anonymous: a sign-in link that comes back to the chat.
    known.get_by_role("link", name="Sign in to vote or follow").click()
    page.get_by_label("E-mail").fill("cleo@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server}/chat/")

    known = page.locator(".chat-page .chat-kind-idea").last
    expect(known.locator(".chat-idea-meta")).to_contain_text("0 votes")
    known.get_by_role("button", name="Vote").click()
    known = page.locator(".chat-page .chat-kind-idea").last
    expect(known.get_by_role("button", name="Voted")).to_be_disabled()
    expect(known.locator(".chat-idea-meta")).to_contain_text("1 vote")
    known.get_by_role("button", name="Follow").click()
    expect(page.locator(".chat-page .chat-kind-idea").last.get_by_role("button", name="Following")).to_be_disabled()
    db.session.remove()
    stored = db.session.scalar(select(Idea).where(Idea.id == idea_id))
    assert (stored.vote_count, stored.follower_count) == (1, 2)
