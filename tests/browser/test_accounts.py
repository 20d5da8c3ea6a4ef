import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_register_login_profile_logout(live_server, page):
    page.goto(live_server + "/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Display name").fill("Rosa Díaz")
    page.get_by_label("E-mail").fill("rosa@example.com")
    page.get_by_label("Password", exact=True).fill("a long secret 42")
    page.get_by_label("Repeat password").fill("a long secret 42")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Rosa Díaz")).to_be_visible()
    expect(page.locator(".profile-head .avatar")).to_have_text("RD")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail").fill("rosa@example.com")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flash-error")).to_contain_text("not correct")

    page.get_by_label("Password").fill("a long secret 42")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Rosa Díaz").click()
    expect(page.locator(".profile-head")).to_contain_text("rosa@example.com")
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".flash-info")).to_contain_text("logged out")
