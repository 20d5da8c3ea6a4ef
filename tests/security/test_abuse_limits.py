"""Abuse limits count by account and by address; new accounts get a small allowance; staff names are theirs."""
from __future__ import annotations

from datetime import timedelta

import pytest

from community.auth import services as auth
from community.errors import RateLimited, ValidationFailed
from community.extensions import db
from community.ideas import services as ideas
from community.models import utcnow
from tests.conftest import Auth, csrf_token


@pytest.mark.app_config(COKNOW_CHAT_RATE_PER_ADDRESS=5)
def test_cookieless_chat_clients_are_limited_by_address(app, help_center):
    # Each message from a fresh client starts a new conversation; the address still adds up.
    statuses = []
    for n in range(7):
        fresh = app.test_client()
        with app.app_context():
            statuses.append(fresh.post("/api/v1/chat/messages", json={"text": f"How do I reset my password {n}?"})
                            .status_code)
    assert statuses[:5] == [201] * 5
    assert statuses[5:] == [429, 429]


@pytest.mark.app_config(COKNOW_CHAT_RATE_PER_MINUTE=3, COKNOW_CHAT_RATE_PER_ADDRESS=1000)
def test_a_signed_in_customer_is_limited_across_conversations(app, client, create_user, help_center):
    user = create_user(email="a@example.com")
    Auth(client).login(user.email)
    codes = [client.post("/api/v1/chat/messages", json={"text": f"Question {n} about pairing"}).status_code
             for n in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = client.post("/api/v1/chat/messages", json={"text": "again"})
    assert refused.get_json()["error"]["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["message"] == "You are sending messages too quickly. Please wait a moment."


@pytest.mark.app_config(RATELIMIT_REGISTER="3 per hour")
def test_registrations_are_limited_per_address(app, client):
    codes = []
    for n in range(4):
        fresh = app.test_client()
        with app.app_context():
            token = csrf_token(fresh, "/register")
        with app.app_context():
            codes.append(fresh.post("/register", data={
                "display_name": f"Newcomer {n}", "email": f"new{n}@example.com", "password": "long enough pw",
                "confirm": "long enough pw", "csrf_token": token}).status_code)
    assert codes == [302, 302, 302, 429]


@pytest.mark.app_config(RATELIMIT_API="5 per minute")
def test_api_calls_are_limited(client):
    codes = [client.get("/api/v1/ideas").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_new_accounts_get_a_small_hourly_allowance_for_ideas_and_comments(app, create_user):
    newcomer = create_user(email="new@example.com")
    for n in range(5):
        ideas.submit_idea(newcomer, f"Idea number {n} from a newcomer", "")
    db.session.commit()
    with pytest.raises(RateLimited):
        ideas.submit_idea(newcomer, "One idea too many today", "")
    db.session.rollback()
    idea = ideas.submit_idea(create_user(email="other@example.com"), "Something to talk about", "")
    for n in range(20):
        ideas.add_comment(idea, newcomer, f"comment {n}", notify_users=False)
    with pytest.raises(RateLimited):
        ideas.add_comment(idea, newcomer, "and one more", notify_users=False)
    db.session.rollback()
    # A week-old account is past the new-member allowance.
    veteran = create_user(email="old@example.com")
    veteran.created_at = utcnow() - timedelta(days=7)
    for n in range(7):
        ideas.submit_idea(veteran, f"Veteran idea {n}", "")


def test_a_customer_cannot_take_a_staff_members_name(app, create_user):
    create_user(email="ana@example.com", display_name="Ana from Support", role="staff")
    for name in ["Ana from Support", "ana  FROM support", "Ａｎａ from Support"]:
        with pytest.raises(ValidationFailed) as refused:
            auth.register_user(f"x{len(name)}@example.com", name, "long enough pw")
        assert "display_name" in refused.value.fields
    customer = create_user(email="c@example.com", display_name="Carl")
    with pytest.raises(ValidationFailed):
        auth.update_profile(customer, "Ana From Support", None)
    db.session.rollback()
    # Staff may share names among themselves (two people called Ana), and customers keep ordinary names.
    create_user(email="ana2@example.com", display_name="Ana from Support", role="staff")
    assert auth.register_user("z@example.com", "Ana", "long enough pw").display_name == "Ana"


def _register_from(app, n: int, forwarded_for: str) -> int:
    fresh = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for}
    with app.app_context():
        token = csrf_token(fresh, "/register")
    with app.app_context():
        return fresh.post("/register", headers=headers, data={
            "display_name": f"Visitor {n}", "email": f"visitor{n}@example.com", "password": "long enough pw",
            "confirm": "long enough pw", "csrf_token": token}).status_code


@pytest.mark.app_config(RATELIMIT_REGISTER="1 per hour", COKNOW_PROXIES=1)
def test_behind_a_proxy_limits_count_the_visitors_address(app):
    # Every request comes from the proxy (here 127.0.0.1); the address it forwards is the visitor's.
    assert [_register_from(app, 1, "198.51.100.7"), _register_from(app, 2, "198.51.100.7")] == [302, 429]
    assert _register_from(app, 3, "203.0.113.9") == 302


@pytest.mark.app_config(RATELIMIT_REGISTER="1 per hour")
def test_without_a_proxy_a_client_cannot_pick_its_address(app):
    assert [_register_from(app, 1, "198.51.100.7"), _register_from(app, 2, "203.0.113.9")] == [302, 429]
