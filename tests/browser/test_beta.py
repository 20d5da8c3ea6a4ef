"""A beta program end to end in real browsers, one actor per browser context:

staff create a program and a build -> a customer applies and is accepted -> the tester files a bug with
a screenshot -> staff confirm it and publish it as a known issue -> a second tester's duplicate is merged
into it from the triage board -> staff release the next build and mark the bug fixed in it -> the tester
was notified at each step -> the tester asks the bot about the problem and is answered from the known issue.
"""
from __future__ import annotations

import io
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.beta.services import programs
from community.extensions import db
from community.models import BetaBuild, BetaProgram, BetaReport, ReportState, User
from tests.browser.helpers import fresh, login

pytestmark = pytest.mark.browser

QUESTION = "the tasks widget stays blank grey after I updated the beta, what can I do?"


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (120, 80), (90, 90, 90)).save(out, "PNG")
    return out.getvalue()


def test_program_to_known_issue_to_fix_and_the_bot_answers_the_tester(
        app, help_center, live_server, new_page, create_user):
    create_user(email="sam@example.com", display_name="Sam Staff", role="staff")
    create_user(email="tess@example.com", display_name="Tess Tester")
    toby_id = create_user(email="toby@example.com", display_name="Toby Tester").id

    # 1. Staff create the program and its first build.
    staff = new_page()
    login(staff, live_server, "sam@example.com")
    staff.goto(live_server + "/beta/")
    staff.get_by_role("link", name="New program").click()
    staff.get_by_label("Name").fill("Android widgets beta")
    staff.get_by_label("Description (Markdown)").fill("New **home-screen widgets** for Android.")
    staff.get_by_role("button", name="Create program").click()
    expect(staff.get_by_role("heading", name="Android widgets beta", level=1)).to_be_visible()
    staff.get_by_role("link", name="New build").click()
    staff.get_by_label("Version").fill("4.13.0-beta.1")
    staff.get_by_label("Release notes (Markdown)").fill("First widgets build.")
    staff.get_by_role("button", name="Release build").click()
    expect(staff.locator(".flash-success")).to_contain_text("Build 4.13.0-beta.1 is out")
    program = fresh(select(BetaProgram))
    slug = program.slug

    # 2. A customer applies; staff accept; she is told.
    tess = new_page()
    login(tess, live_server, "tess@example.com")
    tess.goto(f"{live_server}/beta/{slug}/")
    tess.get_by_label("Why do you want to join? (optional)").fill("I use widgets all day.")
    tess.get_by_role("button", name="Apply to join").click()
    expect(tess.locator(".flash-success")).to_contain_text("Your application is in")
    staff.goto(f"{live_server}/beta/{slug}/testers")
    staff.get_by_role("button", name="Accept Tess Tester").click()
    expect(staff.locator(".flash-success")).to_contain_text("Tess Tester is a tester now")

    # 3. The tester files a bug with a screenshot.
    tess.goto(f"{live_server}/beta/{slug}/")
    tess.get_by_role("link", name="Report on 4.13.0-beta.1").click()
    tess.get_by_label("Kind").select_option("bug")
    tess.get_by_label("Severity (bugs)").select_option("major")
    tess.get_by_label("Title").fill("Tasks widget is a blank gray box after updating the beta")
    tess.get_by_label("What happened").fill("After installing the update the widget shows only a gray rectangle.")
    tess.get_by_label("Device").fill("Pixel 8")
    tess.locator("input[name=attachments]").set_input_files(
        files=[{"name": "screenshot.png", "mimeType": "image/png", "buffer": _png()}])
    tess.get_by_role("button", name="File report").click()
    expect(tess.locator(".flash-success")).to_contain_text("is filed")
    thumb = tess.locator(".beta-attachments img")
    expect(thumb).to_be_visible()
    # Visible is not loaded: wait until the browser has the image (or has given up on it), then read its size.
    tess.wait_for_function("() => document.querySelector('.beta-attachments img').complete")
    assert tess.evaluate("() => document.querySelector('.beta-attachments img').naturalWidth") == 120
    report_url = tess.url
    first = fresh(select(BetaReport))

    # 4. Staff confirm it and publish it as a (testers-only) known issue with its workaround.
    staff.goto(report_url)
    staff.get_by_label("Move to").select_option("confirmed")
    staff.get_by_role("button", name="Update state").click()
    expect(staff.locator(".flash-success")).to_contain_text("Confirmed")
    staff.get_by_label("Public title").fill("Widgets show a blank gray box after updating the beta")
    staff.get_by_label("What testers see").fill("After a beta update some launchers keep the old widget layout.")
    staff.get_by_label("Workaround").fill("Remove the widget and add it again; your settings are kept.")
    staff.get_by_role("button", name="Publish known issue").click()
    expect(staff.locator(".flash-success")).to_contain_text("Published as a known issue")

    # 5. A second tester files the same problem (the form shows it while he types; he files it anyway)
    #    and staff merge his duplicate into the first from the triage board, in one click.
    db.session.remove()
    program = db.session.scalar(select(BetaProgram))
    build1_id = db.session.scalar(select(BetaBuild.id))
    toby = db.session.get(User, toby_id)
    programs.decide(db.session.scalar(select(User).where(User.email == "sam@example.com")),
                    programs.apply(toby, program), accept=True)
    db.session.commit()
    toby_page = new_page()
    login(toby_page, live_server, "toby@example.com")
    toby_page.goto(f"{live_server}/beta/builds/{build1_id}/report")
    toby_page.get_by_label("Severity (bugs)").select_option("minor")
    toby_page.get_by_label("Title").fill("Blank grey tasks widget after the beta update")
    suggestion = toby_page.locator("#beta-similar")
    expect(suggestion).to_contain_text(f"#{first.id} Tasks widget is a blank gray box after updating the beta")
    expect(suggestion.get_by_role("button", name="Me too")).to_be_visible()
    toby_page.get_by_role("button", name="File report").click()
    expect(toby_page.locator(".flash-success")).to_contain_text("is filed")
    dup_id = fresh(select(BetaReport.id).order_by(BetaReport.id.desc()).limit(1))
    staff.goto(f"{live_server}/beta/{slug}/board")
    staff.get_by_role("button", name=f"Merge #{dup_id} into #{first.id}").click()
    expect(staff.locator(".flash-success")).to_contain_text(f"now counts on #{first.id}")
    merged = fresh(select(BetaReport).where(BetaReport.id == dup_id))
    assert merged.merged_into_id == first.id and merged.state is ReportState.closed
    assert fresh(select(BetaReport.me_too_count).where(BetaReport.id == first.id)) == 1

    # 6. The next build fixes it.
    staff.goto(f"{live_server}/beta/{slug}/builds/new")
    staff.get_by_label("Version").fill("4.13.0-beta.2")
    staff.get_by_role("button", name="Release build").click()
    staff.goto(report_url)
    staff.get_by_label("Move to").select_option("fixed")
    staff.get_by_label("Fixed in build").select_option(label="4.13.0-beta.2")
    staff.get_by_role("button", name="Update state").click()
    expect(staff.locator(".flash-success")).to_contain_text("Fixed")

    # 7. The tester was told at each step.
    tess.goto(live_server + "/notifications/")
    notes = tess.locator("main")
    for title in ("You're in: welcome to Android widgets beta",
                  "is now Confirmed",
                  "Your report is now a known issue",
                  "New build 4.13.0-beta.2 of Android widgets beta",
                  "is fixed in build 4.13.0-beta.2"):
        expect(notes).to_contain_text(title)

    # 8. She asks the bot about the problem: the known issue answers, with its workaround and fix.
    tess.goto(live_server + "/chat/")
    box = tess.locator(".chat-page [data-chat]")
    box.locator("textarea[name=text]").fill(QUESTION)
    box.locator("textarea[name=text]").press("Enter")
    answer = box.locator(".chat-kind-answer").last
    expect(answer).to_contain_text("This is a known issue")
    expect(answer).to_contain_text("some launchers keep the old widget layout")
    expect(answer).to_contain_text("Remove the widget and add it again")
    expect(answer).to_contain_text("Fixed in build 4.13.0-beta.2")
    expect(answer.get_by_role("link", name="Widgets show a blank gray box after updating the beta")).to_be_visible()
    _shoot(tess, "chat-answer", 390)
    tess.goto(report_url)
    _shoot(tess, "report", 1280)
    staff.goto(f"{live_server}/beta/{slug}/health?build={build1_id}")
    expect(staff.get_by_role("heading", name=re.compile("Health of build"))).to_be_visible()
    _shoot(staff, "health", 1280)
    _shoot(staff, "health", 390)
    staff.goto(f"{live_server}/beta/{slug}/board")
    _shoot(staff, "board", 1280)
    _shoot(staff, "board", 390)
    tess.goto(f"{live_server}/beta/{slug}/")
    _shoot(tess, "program", 390)


def _shoot(page, name: str, width: int) -> None:
    """Screenshots for a person to look at, when COKNOW_SCREENSHOTS names a folder."""
    folder = os.environ.get("COKNOW_SCREENSHOTS")
    if folder:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(folder, f"beta-{name}-{width}.png"), full_page=True)
