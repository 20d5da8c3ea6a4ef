"""Staff run themes on the demo data, attach a theme's thread to an idea as evidence, export the theme, read the scorecard."""
import os

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.helpers import fresh, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.environ.get("COKNOW_SCREENSHOTS")  # a folder: save the pages at 1280 and 390 px wide


def _shots(page, name: str) -> None:
    if not SHOTS:
        return
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_themes_evidence_export_and_scorecard(live_server, page, app):
    from community.extensions import db
    from community.models import Idea, Theme, ThemeItem, ThemeRun
    from community.seed import _load_json, seed_demo

    seed_demo()
    db.session.commit()
    staff = _load_json("people.json")["staff"][0]
    login(page, live_server, staff["email"], staff["password"])

    page.goto(live_server + "/insights/")
    page.get_by_role("button", name="Find themes").click()
    expect(page.locator(".flash-success")).to_contain_text("Themes are being found")
    page.reload()  # the job ran right after the commit (inline in tests); a real worker would be polled
    expect(page.locator(".theme-row").first).to_be_visible()
    _shots(page, "themes")

    run = fresh(select(ThemeRun).where(ThemeRun.state == "done"))
    item = db.session.scalars(select(ThemeItem).where(ThemeItem.run_id == run.id, ThemeItem.source_type == "thread")
                              .order_by(ThemeItem.similarity.desc())).first()
    theme = db.session.get(Theme, item.theme_id)
    idea = db.session.scalars(select(Idea).where(Idea.merged_into_id.is_(None)).order_by(Idea.id)).first()
    page.locator(f'tr[data-theme-id="{theme.id}"] a.theme-link').click()
    expect(page.locator("h1.theme-title")).to_have_text(theme.label)
    _shots(page, "theme")

    row = page.locator(f'li.theme-item[data-source="thread:{item.source_id}"]')
    row.get_by_label("Evidence for idea").select_option(str(idea.id))
    row.get_by_role("button", name="Attach").click()
    expect(page.locator(".flash-success")).to_contain_text(idea.title)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    assert item.title in text and text.splitlines()[0].startswith("theme_id,")

    page.goto(f"{live_server}/ideas/{idea.id}")
    evidence = page.locator("#evidence")
    expect(evidence.get_by_role("link", name=item.title)).to_be_visible()
    expect(evidence).to_contain_text("Customers behind it")
    _shots(page, "idea-evidence")

    page.goto(live_server + "/insights/scorecard")
    for flow in ("Acquisition", "Sharing", "Application", "Co-creation"):
        expect(page.get_by_role("heading", name=flow)).to_be_visible()
    _shots(page, "scorecard")
    page.locator('a[data-metric="ideas"]').click()
    expect(page.get_by_role("heading", name="Ideas submitted")).to_be_visible()
    expect(page.locator(".scorecard-items a").first).to_be_visible()

    page.goto(live_server + "/insights/trends")
    expect(page.locator("svg.trend-chart polyline").first).to_be_attached()
    _shots(page, "trends")
    page.goto(live_server + "/insights/duplicates")
    _shots(page, "duplicates")
