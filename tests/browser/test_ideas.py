"""A customer's idea, found by another customer typing a paraphrase, voted, planned and shipped."""
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login

pytestmark = pytest.mark.browser


def test_suggest_vote_plan_ship_notify(live_server, new_page, create_user):
    from knowledge_index.embedder import get_embedder

    get_embedder().encode_query("warm up")  # load the model before the first click, not during it
    create_user(email="ana@example.com", display_name="Ana Lima")
    create_user(email="ben@example.com", display_name="Ben Okafor")
    create_user(email="sam@example.com", display_name="Sam Staff", role="staff")

    ana = new_page()
    login(ana, live_server, "ana@example.com")
    ana.goto(live_server + "/ideas/")
    ana.get_by_role("link", name="Suggest an idea").click()
    ana.get_by_label("Title").fill("Dark mode on Android")
    ana.get_by_label("Description").fill("A dark theme for the Android app that follows the system setting.")
    ana.get_by_role("button", name="Post idea").click()
    expect(ana.get_by_role("heading", name="Dark mode on Android")).to_be_visible()
    idea_url = ana.url

    ben = new_page()
    login(ben, live_server, "ben@example.com")
    ben.goto(live_server + "/ideas/new")
    ben.get_by_label("Title").press_sequentially("Android app needs a dark theme", delay=20)
    suggestions = ben.locator("#idea-suggestions")
    expect(suggestions).to_be_visible()
    suggestion = suggestions.locator(".idea-suggestion", has_text="Dark mode on Android")
    expect(suggestion).to_be_visible()
    suggestion.get_by_role("button", name="Vote").click()
    expect(suggestion.get_by_role("button", name="Voted")).to_be_visible()
    expect(suggestion).to_contain_text("1 votes")

    sam = new_page()
    login(sam, live_server, "sam@example.com")
    sam.goto(idea_url)
    expect(sam.locator(".vote-count").first).to_have_text("1")
    sam.get_by_label("New status").select_option("planned")
    sam.get_by_label("Reason or update").fill("Coming in the next quarter.")
    sam.get_by_role("button", name="Change status").click()
    expect(sam.locator(".flash-success")).to_contain_text("Status changed")
    sam.get_by_role("link", name="Ship it with a changelog entry").click()
    sam.get_by_label("Title").fill("Android 4.14: dark mode")
    sam.get_by_label("What changed").fill("Dark mode follows your system theme.")
    expect(sam.get_by_label("#", exact=False).first).to_be_checked()
    sam.get_by_role("button", name="Preview").click()
    expect(sam.locator(".changelog-preview")).to_contain_text("2 people will be notified")
    sam.get_by_role("button", name="Publish and notify").click()
    expect(sam.locator(".changelog-entry")).to_contain_text("Dark mode on Android")

    ben.goto(live_server + "/ideas/roadmap")
    expect(ben.locator('[data-status="shipped"]')).to_contain_text("Dark mode on Android")
    for page in (ana, ben):
        page.goto(live_server + "/notifications/")
        expect(page.locator(".notifications")).to_contain_text("“Dark mode on Android” is now Planned")
        expect(page.locator(".notifications")).to_contain_text("“Dark mode on Android” is now Shipped")
        expect(page.locator(".notifications")).to_contain_text("Released in: Android 4.14: dark mode")
