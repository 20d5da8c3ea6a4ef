"""Staff import a CRM file, open a customer's 360° page, rank ideas by the most valuable customers,
and see the asker's segment in the support console."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from bot import chat
from community.customers.services import contribution  # noqa: F401  (point rules registered before the pages render)
from community.extensions import db
from community.forum import services as forum
from community.ideas import services as ideas
from community.models import Idea, User
from tests.bot.chat_fixtures import UNRELATED
from tests.browser.helpers import login

pytestmark = pytest.mark.browser

CRM = (
    "email,name,company,plan,annual_value,signup_date,account_owner\n"
    "ana@example.com,Ana Lima,Harbor Analytics,Team,48000,2024-03-01,Kim\n"
    "bo@example.com,Bo Chen,Bo's Bikes,Free,,2025-01-15,\n"
    "carol@example,Carol,Nowhere,Free,,,\n"
)
SHOTS = os.environ.get("COKNOW_SCREENSHOTS")  # a folder: save the pages at desktop and phone widths


def _shoot(page, name: str) -> None:
    if not SHOTS:
        return
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_staff_see_customers_across_features_and_segments_weight_demand(
        app, help_center, live_server, page, create_user, tmp_path):
    create_user("sam@example.com", "Sam Support", role="staff")
    ana = create_user("ana@example.com", "Ana Lima")
    bo = create_user("bo@example.com", "Bo Chen")
    idea = ideas.submit_idea(bo, "Dark mode for the Android app", "Please follow the system theme.", "mobile")
    ideas.add_comment(idea, ana, "We need this for our night shift.")
    thread = forum.create_thread(bo, forum.ensure_category("Questions"), "How do I export notes to PDF?",
                                 "The export button is grey for me.")
    forum.accept_answer(bo, thread, forum.post_reply(ana, thread, "Open the note first, then export."))
    db.session.commit()
    chat.send_message(ana, None, UNRELATED)  # the bot abstains: a knowledge gap raised by Ana
    db.session.commit()
    ana_id, bo_id, idea_id = ana.id, bo.id, idea.id

    # 1. Staff import the CRM export; the bad row is named by its line, the rest are imported.
    login(page, live_server, "sam@example.com")
    page.get_by_text("Staff", exact=True).click()
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Import from CRM").click()
    crm = tmp_path / "crm.csv"
    crm.write_text(CRM, encoding="utf-8")
    page.get_by_label("CRM export (CSV)").set_input_files(str(crm))
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".import-summary")).to_contain_text("3 rows: 2 profiles written")
    expect(page.locator(".import-errors tbody tr")).to_have_count(1)
    expect(page.locator(".import-errors tbody tr")).to_contain_text("4")
    expect(page.locator(".import-errors tbody tr")).to_contain_text("“carol@example” is not an e-mail address")

    # Votes cast now carry the voters' segments (the import recomputed them).
    db.session.remove()
    fresh_idea = db.session.get(Idea, idea_id)
    ideas.cast_vote(db.session.get(User, ana_id), fresh_idea)
    ideas.cast_vote(db.session.get(User, bo_id), fresh_idea)
    chat.request_handoff(db.session.get(User, ana_id), None)
    db.session.commit()

    # 2. The customer list, filtered by segment; Ana's page has her timeline across features.
    page.get_by_role("link", name="See the customers").click()
    page.get_by_role("link", name="Most valuable").first.click()
    row = page.locator("table.customers tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Harbor Analytics")
    row.get_by_role("link", name="Ana Lima").click()
    expect(page.locator("h1")).to_contain_text("Most valuable")
    expect(page.locator(".facts")).to_contain_text("account_owner")
    events = page.locator(".customer-events .event")
    for feature in ("ideas", "forum", "chat", "gaps", "notifications"):
        expect(events.and_(page.locator(f"[data-feature={feature}]")).first).to_be_visible()
    expect(page.locator(".customer-events")).to_contain_text("Their answer was accepted")
    expect(page.locator(".customer-events")).to_contain_text(UNRELATED)
    _shoot(page, "customer")

    # 3. Priorities filtered to the most valuable customers: weighted differs from raw votes.
    page.goto(f"{live_server}/ideas/priorities")
    all_row = page.locator("table.priorities tbody tr", has_text="Dark mode")
    expect(all_row.locator(".raw-votes")).to_have_text("2")
    expect(all_row.locator(".weighted-votes")).to_have_text("4.0")
    page.get_by_role("link", name="Most valuable").click()
    top = page.locator("table.priorities tbody tr", has_text="Dark mode")
    expect(top.locator(".raw-votes")).to_have_text("1")
    expect(top.locator(".weighted-votes")).to_have_text("3.0")
    _shoot(page, "priorities")

    # 4. The support console shows the asker's segment in the queue.
    page.get_by_text("Staff", exact=True).click()
    page.get_by_role("link", name="Support console").click()
    item = page.locator(".console-queue-item", has_text="Ana Lima")
    expect(item.locator(".segment")).to_have_text("Most valuable")
    item.click()
    expect(page.locator(".console-thread-head .segment")).to_have_text("Most valuable")
    _shoot(page, "console")
