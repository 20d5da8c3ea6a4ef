"""Forum in a real browser: writing with Markdown and mentions, live replies, accepting, and inert XSS."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.extensions import db
from community.forum import services

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def warm_model():
    from knowledge_index.embedder import get_embedder

    get_embedder().encode_query("warm up")  # load the model before the first click, not during it


def login(page, base: str, email: str, password: str = "correct horse battery") -> None:
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_thread_mention_live_reply_accept(live_server, new_page, create_user):
    services.save_category(None, name="Getting started", description="Setup questions")
    db.session.commit()
    create_user(email="ana@example.com", display_name="Ana Lima")
    create_user(email="ben@example.com", display_name="Ben Ode")
    create_user(email="cleo@example.com", display_name="Cleo Park")

    ana = new_page()
    login(ana, live_server, "ana@example.com")
    ana.goto(live_server + "/forum/")
    ana.get_by_role("link", name="Start a thread").click()
    ana.get_by_label("Title").fill("Sync stops after the update")
    ana.get_by_label("Your question or topic (Markdown)").fill(
        "Since **1.4** sync stops.\n\n```\nerror 42\n```\n\n@CleoPark have you seen this?")
    expect(ana.locator(".md-preview strong")).to_have_text("1.4")  # the live preview
    ana.get_by_label("Tags (comma separated, optional)").fill("sync, update")
    ana.get_by_role("button", name="Post thread").click()
    expect(ana.get_by_role("heading", name="Sync stops after the update")).to_be_visible()
    expect(ana.locator(".thread-post .post-body strong")).to_have_text("1.4")
    expect(ana.locator(".thread-post pre code")).to_contain_text("error 42")
    expect(ana.locator(".live-note")).to_be_visible()  # watching the thread's room
    thread_url = ana.url

    ben = new_page()
    login(ben, live_server, "ben@example.com")
    ben.goto(thread_url)
    ben.get_by_label("Your reply (Markdown)").fill("Sign out and in again, then *resync*.")
    ben.get_by_role("button", name="Post reply").click()
    expect(ben.locator(".reply .post-body em")).to_have_text("resync")

    # Ana's page never reloaded: the reply arrived over Socket.IO.
    expect(ana.locator("#replies .reply")).to_have_count(1)
    expect(ana.locator("#replies .reply em")).to_have_text("resync")

    ana.reload()
    ana.get_by_role("button", name="Accept as answer").click()
    expect(ana.locator(".reply.accepted .accepted-label")).to_contain_text("Accepted answer")

    cleo = new_page()
    login(cleo, live_server, "cleo@example.com")
    expect(cleo.locator(".bell-count")).to_have_text("1")
    cleo.goto(live_server + "/notifications/")
    expect(cleo.locator(".notification")).to_contain_text("Ana Lima mentioned you in “Sync stops after the update”")
    cleo.get_by_role("button", name=re.compile("mentioned you")).click()
    expect(cleo).to_have_url(re.compile(r"/forum/t/\d+$"))
