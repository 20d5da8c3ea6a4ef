"""A customer asks for a person in the chat; a staff member sees it in the live console, joins and
replies; the customer sees both live, without reloading."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login

pytestmark = pytest.mark.browser


def test_customer_talks_to_a_person_from_the_console(app, help_center, live_server, page, new_page, create_user):
    create_user(email="sam@example.com", display_name="Sam Support", role="staff")
    staff = new_page()
    login(staff, live_server, "sam@example.com")
    staff.get_by_text("Staff", exact=True).click()  # the staff tools share one header menu
    staff.get_by_role("link", name="Support console").click()
    expect(staff.locator(".console-queue-empty")).to_be_visible()

    # The customer asks for a person at any time, without waiting for the bot to give up.
    page.goto(f"{live_server}/chat/")
    box = page.locator(".chat-page [data-chat]")
    box.locator("textarea[name=text]").fill("my export to PDF is blank")
    box.locator("textarea[name=text]").press("Enter")
    expect(box.locator(".chat-bot")).to_have_count(1)
    box.get_by_role("button", name="Talk to a person").click()
    expect(box.locator(".chat-kind-handoff")).to_contain_text("A person will join here shortly")

    # The console's queue shows it live; the staff member opens it and joins.
    item = staff.locator(".console-queue-item", has_text="my export to PDF is blank")
    expect(item).to_contain_text("Visitor")
    item.click()
    thread = staff.locator(".console-thread")
    expect(thread.locator(".console-customer").first).to_contain_text("my export to PDF is blank")
    thread.get_by_role("button", name="Join").click()
    expect(box.locator(".chat-staff.chat-kind-joined .chat-text")).to_have_text("Sam Support from support joined the conversation.")

    # The customer writes: no bot reply, the message shows up in the console.
    box.locator("textarea[name=text]").fill("It happens with every note")
    box.locator("textarea[name=text]").press("Enter")
    expect(staff.locator(".console-transcript .console-customer").last).to_contain_text("It happens with every note")
    expect(box.locator(".chat-bot")).to_have_count(2)  # the first answer and the handoff message only

    staff.get_by_label("Your reply").fill("Thanks! Please update the app to 4.2, that fixes blank exports.")
    staff.get_by_role("button", name="Send reply").click()
    reply = box.locator(".chat-staff.chat-kind-reply")
    expect(reply).to_contain_text("Thanks! Please update the app to 4.2, that fixes blank exports.")
    expect(reply.locator(".chat-author")).to_have_text("Sam Support from support")
