"""Steps the browser tests share."""
from __future__ import annotations

from playwright.sync_api import expect

from community.extensions import db

PASSWORD = "correct horse battery"  # create_user's default


def login(page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait until the page shows the signed-in header."""
    page.goto(base + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def fresh(query):
    """Run query in a new session: the live server's threads committed; read their rows anew."""
    db.session.remove()
    return db.session.scalar(query)
