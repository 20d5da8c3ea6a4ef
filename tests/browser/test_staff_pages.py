"""Staff pages in a real browser: a one-line header, a merge and a changelog entry that preview and ask, questions
kept out of staff-only categories."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from community.extensions import db
from community.ideas.services import cast_vote, change_status, submit_idea
from community.models import ChangelogEntry, Idea, IdeaStatus
from tests.browser.helpers import fresh, login

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def warm_model():
    from knowledge_index.embedder import get_embedder

    get_embedder().encode_query("warm up")


def test_the_staff_header_stays_on_one_line_and_the_staff_menu_opens(live_server, page, create_user):
    create_user(email="sam@example.com", display_name="Samantha Staff-Member", role="staff")
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, "sam@example.com")
    height = page.locator(".header-row").bounding_box()["height"]
    assert height <= 72, f"header is {height}px tall: more than one line"
    page.get_by_text("Staff", exact=True).click()
    page.get_by_role("link", name="Knowledge gaps").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Knowledge gaps")


def test_merging_ideas_shows_what_moves_and_asks_first(live_server, page, create_user):
    create_user(email="sam@example.com", role="staff")
    author = create_user()
    keep = submit_idea(author, "Dark mode for the Android app", "Follow the system theme.")
    dupe = submit_idea(create_user(), "Android: please add a dark theme", "Night reading hurts.")
    for _ in range(2):
        cast_vote(create_user(), dupe)
    db.session.commit()
    keep_id, dupe_id = keep.id, dupe.id
    login(page, live_server, "sam@example.com")
    page.goto(f"{live_server}/ideas/{dupe_id}")
    page.get_by_label("Find the idea to merge into (title or number)").fill("dark mode")
    page.get_by_role("button", name="Find and preview").click()
    page.get_by_role("link", name=f"#{keep_id} Dark mode for the Android app").click()
    preview = page.locator(".merge-preview")
    expect(preview).to_contain_text("2 votes move to the target idea")
    expect(preview).to_contain_text("will be notified")
    assert fresh(select(Idea.merged_into_id).where(Idea.id == dupe_id)) is None  # nothing happened yet
    page.get_by_role("button", name="Yes, merge").click()
    expect(page.locator(".flash-success")).to_contain_text("Merged")
    assert fresh(select(Idea.merged_into_id).where(Idea.id == dupe_id)) == keep_id


def test_ask_the_community_never_lands_in_a_staff_only_category(live_server, page, create_user):
    from community.forum.seed import seed_forum
    from community.seed import SEED_DIR, SeedReport

    seed_forum(SEED_DIR, SeedReport(), lambda _m: None)
    db.session.commit()
    create_user(email="sam@example.com", role="staff")
    login(page, live_server, "sam@example.com")
    page.goto(f"{live_server}/forum/new?title=How+should+we+coordinate+escalations+internally")
    chosen = page.get_by_label("Category").evaluate("s => s.options[s.selectedIndex].text")
    assert chosen != "Staff lounge"
    # The staff-only category is there to choose on purpose, just never the default.
    assert "Staff lounge" in page.get_by_label("Category").inner_text()


def test_a_changelog_entry_previews_who_is_told_and_publishes_only_when_confirmed(live_server, page, create_user):
    staff = create_user(email="sam@example.com", role="staff")
    idea = submit_idea(create_user(), "Export notebooks to EPUB", "For my e-reader.")
    for _ in range(3):
        cast_vote(create_user(), idea)
    change_status(idea, "planned", staff)
    db.session.commit()
    idea_id = idea.id
    login(page, live_server, "sam@example.com")
    page.goto(f"{live_server}/ideas/changelog/new")
    page.get_by_label("Title").fill("EPUB export is here")
    page.get_by_label("What changed").fill("Export any notebook as **EPUB**.")
    page.get_by_label(f"#{idea_id} Export notebooks to EPUB", exact=False).check()
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".changelog-preview")
    expect(preview).to_contain_text("1 idea becomes shipped")
    expect(preview).to_contain_text("people will be notified")
    page.get_by_role("button", name="Back to editing").click()
    expect(page.get_by_role("button", name="Preview")).to_be_visible()
    assert fresh(select(func.count()).select_from(ChangelogEntry)) == 0  # previews and going back publish nothing
    assert fresh(select(Idea.status).where(Idea.id == idea_id)) is IdeaStatus.planned
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Publish and notify").click()
    expect(page.locator(".flash-success")).to_contain_text("Published")
    assert fresh(select(func.count()).select_from(ChangelogEntry)) == 1
    assert fresh(select(Idea.status).where(Idea.id == idea_id)) is IdeaStatus.shipped
