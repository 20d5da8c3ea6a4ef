"""Pages as a person sees them: search from the home page, layouts that hold at 1280 and 390 px, visible icons."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from community.extensions import db
from community.forum import services as forum
from tests.browser.helpers import login

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_CODE = "```\n" + "sync --verbose " + "x" * 385 + "\n```"


@pytest.fixture(autouse=True)
def warm_model():
    from knowledge_index.embedder import get_embedder

    get_embedder().encode_query("warm up")


def test_search_from_the_home_page_reaches_an_article(live_server, page, help_center):
    page.goto(live_server + "/")
    page.get_by_role("searchbox", name="Search the help center").fill("how do I change my password")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".result-count")).to_contain_text("found for")
    expect(page.locator(".search-hit mark").first).to_be_visible()
    page.locator(".search-hit a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(help_center["reset-password"].title)
    expect(page.get_by_role("heading", name="Did this answer your question?")).to_be_visible()


def _thread(author, body: str) -> str:
    category = forum.save_category(None, name="Getting started", description="Setup questions")
    thread = forum.create_thread(author, category, "Sync log is very long", body, [])
    db.session.commit()
    return f"/forum/t/{thread.id}"


def _sidebar_width(page) -> float:
    return page.evaluate("document.querySelector('.forum-thread > :last-child').getBoundingClientRect().width")


def test_a_long_code_line_scrolls_inside_its_block(live_server, new_page, create_user):
    author = create_user(email="ana@example.com", display_name="Ana Lima")
    url = _thread(author, "Here is the log:\n\n" + LONG_CODE)

    desktop = new_page()
    desktop.set_viewport_size(DESKTOP)
    desktop.goto(live_server + url)
    expect(desktop.locator(".thread-post pre")).to_be_visible()
    content = desktop.evaluate("document.querySelector('.forum-thread').getBoundingClientRect().width")
    # The grid is 2fr 1fr: the sidebar keeps its third, the code block scrolls.
    assert _sidebar_width(desktop) >= content / 3 - 40
    assert desktop.evaluate("(() => { const p = document.querySelector('.thread-post pre');"
                            " return p.scrollWidth > p.clientWidth; })()")

    phone = new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(live_server + url)
    expect(phone.locator(".thread-post pre")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_chat_page_ends_at_its_footer(live_server, page, help_center):
    page.set_viewport_size(DESKTOP)
    page.goto(live_server + "/chat/")
    box = page.locator(".chat-page")
    for n in range(8):
        box.get_by_label("Your question").fill(f"how do I reset my password, attempt {n}")
        box.get_by_role("button", name="Send").click()
        expect(box.locator(".chat-msg.chat-bot")).to_have_count(n + 1)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    gap = page.evaluate("document.documentElement.scrollHeight"
                        " - (document.querySelector('.site-footer').getBoundingClientRect().bottom + window.scrollY)")
    assert gap <= 2, f"{gap}px of blank page after the footer"
    # The thumbs have a visible glyph without any emoji font.
    thumb = box.locator(".chat-thumb svg").first
    expect(thumb).to_be_visible()
    size = thumb.bounding_box()
    assert size and size["width"] >= 12 and size["height"] >= 12


def test_the_launcher_leaves_the_last_line_readable_on_a_phone(live_server, page, create_user):
    create_user(email="ana@example.com")
    page.set_viewport_size(PHONE)
    login(page, live_server, "ana@example.com")
    page.goto(live_server + "/help/")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    launcher = page.locator(".chat-launcher-button").bounding_box()
    footer_text = page.locator(".site-footer").bounding_box()
    assert launcher and footer_text
    assert launcher["width"] <= 64  # an icon button, not a banner over the text
    # The footer's text ends above the launcher once scrolled to the end.
    assert footer_text["y"] + footer_text["height"] <= launcher["y"] + 1
