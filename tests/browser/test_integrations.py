"""Walk-through: staff register a webhook receiver and see a signed test delivery arrive in the log; a person
creates an API token, sees it once, uses it, and revokes it in one click."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from community.models import Role
from community.webhooks.delivery import SIGNATURE_HEADER, verify
from tests.browser.helpers import login
from tests.community.webhook_receiver import Receiver

pytestmark = pytest.mark.browser


def _get(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 (the live server)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_webhook_and_token_walk_through(live_server, page, create_user, tmp_path):
    create_user("sam@example.com", display_name="Sam Staff", role=Role.staff)
    login(page, live_server, "sam@example.com")
    with Receiver() as receiver:
        page.get_by_text("Staff", exact=True).click()  # the staff menu
        page.get_by_role("link", name="Integrations").click()
        page.get_by_label("Receiver URL").fill(receiver.url)
        page.get_by_label("Description").fill("Our CRM")
        page.get_by_label(re.compile("^idea.created")).check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(tmp_path / "webhook-created-1280.png"), full_page=True)
        page.get_by_role("button", name="Send a test event").click()
        expect(page.locator(".flash-success")).to_contain_text("test delivery")
        expect(page.locator(".deliveries tbody tr").first).to_contain_text("200")
        expect(page.locator("#webhook-secret")).to_have_count(0)  # shown once only
        delivery = receiver.received[0]
        assert verify(secret, delivery.headers[SIGNATURE_HEADER], delivery.body.decode())
        assert json.loads(delivery.body)["event"] == "ping"
        page.screenshot(path=str(tmp_path / "webhook-log-1280.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / "webhook-log-390.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/account/tokens")
    page.get_by_label("Name").fill("Warehouse export")
    page.get_by_label(re.compile("^Ideas, votes and comments — read")).check()
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("ckn_")
    page.screenshot(path=str(tmp_path / "token-created-1280.png"), full_page=True)
    assert _get(live_server + "/api/v1/ideas", token) == 200
    assert _get(live_server + "/api/v1/forum/threads", token) == 403
    page.goto(live_server + "/account/tokens")
    expect(page.locator(".tokens")).not_to_contain_text(token)
    expect(page.locator(".tokens")).to_contain_text("Warehouse export")
    page.get_by_role("button", name="Revoke Warehouse export").click()
    expect(page.locator(".flash-success")).to_contain_text("revoked")
    assert _get(live_server + "/api/v1/ideas", token) == 401
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "tokens-390.png"), full_page=True)
    page.goto(live_server + "/developers/api")
    expect(page.locator("#schema-Idea")).to_be_visible()
    page.screenshot(path=str(tmp_path / "api-docs-390.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "api-docs-1280.png"))
    print("screenshots in", tmp_path)
