"""Every state-changing route, taken from the URL map, refuses a same-site page's post without the token.

A page on another port of this host is same-site: the browser sends our Lax cookies with its form posts.
A new route joins this test by existing; nothing to register.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import ChatMessage, Conversation, IdeaFollower, Reply, Thread, Vote
from tests.conftest import Auth

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
SAME_SITE_PAGE = {"Origin": "http://localhost:8080", "Referer": "http://localhost:8080/evil.html",
                  "Sec-Fetch-Site": "same-site", "Content-Type": "text/plain"}


# Routes that prove intent another way; each says how.
EXEMPT = {
    "/notifications/unsubscribe/<token>": "RFC 8058 one-click unsubscribe: the signed link itself is the proof",
}


def _state_changing_routes(app, api: bool) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/static") or rule.rule.startswith("/socket.io"):
            continue
        if rule.rule.startswith("/api/") != api or rule.rule in EXEMPT:
            continue
        values = {}
        for name in rule.arguments:
            converter = type(rule._converters[name]).__name__.lower()
            if "any" in converter:  # <any(a, b):name>: the first allowed value
                values[name] = next(iter(rule._converters[name].items))
            else:
                values[name] = 1 if "int" in converter or "rowid" in converter else "x"
        try:
            path = rule.build(values, append_unknown=False)[1]
        except Exception:  # a route whose arguments need a shape we do not guess: must be added here
            pytest.fail(f"cannot build {rule.rule} for the CSRF test")
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            routes.append((method, path))
    return sorted(set(routes))


def _counts() -> tuple[int, ...]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (Vote, IdeaFollower, Reply, Thread, Conversation, ChatMessage))


def test_every_api_write_needs_the_token(app, client, create_user, create_idea, make_thread):
    user = create_user(email="victim@example.com")
    create_idea("Export to CSV")  # ids 1 exist: a refusal is not just a 404
    make_thread(user)
    Auth(client).login(user.email)
    before = _counts()
    routes = _state_changing_routes(app, api=True)
    assert ("POST", "/api/v1/ideas/1/vote") in routes and len(routes) >= 15
    for method, path in routes:
        response = client.open(path, method=method, data=b"", headers=SAME_SITE_PAGE, csrf_header=False)
        assert response.status_code == 400, (method, path, response.status_code)
        assert response.get_json()["error"]["code"] == "csrf_failed", (method, path)
    assert _counts() == before  # no vote, follow, reply, thread or chat message came through


def test_the_token_header_lets_the_sites_own_scripts_through(app, client, create_user, create_idea):
    user = create_user(email="voter@example.com")
    idea = create_idea("Export to CSV")
    Auth(client).login(user.email)
    token = client.csrf_header_token()
    assert client.post(f"/api/v1/ideas/{idea.id}/vote", headers={"X-CSRFToken": token}).status_code == 200
    # A forged or stale token is no better than none.
    forged = client.post(f"/api/v1/ideas/{idea.id}/follow", headers={"X-CSRFToken": token[:-2] + "xx"},
                         csrf_header=False)
    assert forged.status_code == 400


def test_bearer_token_calls_are_exempt_from_the_page_token(client):
    # No API tokens exist yet, so the call is anonymous: refused as such (401), not as a CSRF failure.
    response = client.post("/api/v1/ideas/1/vote", headers={"Authorization": "Bearer not-a-real-token"},
                           csrf_header=False)
    assert response.status_code != 400 or response.get_json()["error"]["code"] != "csrf_failed"


def test_every_form_post_needs_the_token(app, client, create_user):
    user = create_user(email="victim@example.com", role="admin")
    Auth(client).login(user.email)
    routes = _state_changing_routes(app, api=False)
    assert ("POST", "/logout") in routes
    for method, path in routes:
        response = client.open(path, method=method, data=b"", headers=SAME_SITE_PAGE)
        assert response.status_code == 400, (method, path, response.status_code)
    assert client.get("/api/v1/me").status_code == 200  # the logout above did not happen
