"""API tokens: scopes decide what a token reaches (403 otherwise), access rules still apply, revoked and
expired tokens get 401 naming why, and the secret is shown once and stored only as a hash."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from community.api import tokens
from community.errors import Forbidden, ValidationFailed
from community.extensions import db
from community.models import ApiToken, Idea, Role, TokenKind
from community.models.base import utcnow
from tests.conftest import csrf_token


def issue(user, *scopes, days=30, kind=TokenKind.personal) -> str:
    issued = tokens.issue_token(user, "test script", list(scopes), days, kind)
    db.session.commit()
    return issued.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def idea(app, create_user):
    from community.ideas.services import submit_idea

    author = create_user("author@example.com")
    made = submit_idea(author, "Dark mode for the editor", "Please add a dark theme.")
    db.session.commit()
    return made


def test_a_scoped_token_does_what_its_scopes_allow_and_nothing_else(app, client, create_user, idea):
    customer = create_user("reader@example.com")
    read_only = issue(customer, "ideas:read")
    assert client.get("/api/v1/ideas", headers=bearer(read_only)).status_code == 200
    assert client.get(f"/api/v1/ideas/{idea.id}", headers=bearer(read_only)).get_json()["title"] == idea.title
    assert client.get("/api/v1/ideas/changes", headers=bearer(read_only)).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(read_only)).get_json()["email"] == "reader@example.com"
    # Writing ideas, or reading another area, is refused and the refusal names the missing scope.
    refused = client.post("/api/v1/ideas", json={"title": "Offline mode please", "body": "x"},
                          headers=bearer(read_only))
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "insufficient_scope"
    assert "ideas:write" in refused.get_json()["error"]["message"]
    assert client.post(f"/api/v1/ideas/{idea.id}/vote", headers=bearer(read_only)).status_code == 403
    assert client.get("/api/v1/forum/threads", headers=bearer(read_only)).status_code == 403
    assert client.get("/api/v1/notifications", headers=bearer(read_only)).status_code == 403
    # Areas tokens are not given (the chat is bound to a browser session) are refused outright.
    chat = client.post("/api/v1/chat/messages", json={"text": "hello"}, headers=bearer(read_only))
    assert chat.status_code == 403 and chat.get_json()["error"]["code"] == "scope_not_available"
    assert db.session.query(Idea).count() == 1

    writer = issue(customer, "ideas:write", "notifications:read")
    made = client.post("/api/v1/ideas", json={"title": "Offline mode please", "body": "For flights."},
                       headers=bearer(writer))
    assert made.status_code == 201 and made.get_json()["author"]["id"] == customer.id
    voted = client.post(f"/api/v1/ideas/{idea.id}/vote", headers=bearer(writer))
    assert voted.status_code == 200 and voted.get_json()["voted"] is True
    assert client.get("/api/v1/ideas", headers=bearer(writer)).status_code == 200  # write includes read
    assert client.get("/api/v1/notifications", headers=bearer(writer)).status_code == 200
    assert client.get("/api/v1/forum/threads", headers=bearer(writer)).status_code == 403


def test_scopes_never_widen_what_the_account_may_do(app, client, create_user, idea):
    customer = create_user("c@example.com")
    staff = create_user("s@example.com", role=Role.staff)
    with pytest.raises(ValidationFailed) as refused:
        tokens.issue_token(customer, "x", ["gaps:read"], 30)
    assert "scopes" in refused.value.fields
    with pytest.raises(Forbidden):
        tokens.issue_token(customer, "x", ["ideas:read"], 30, TokenKind.service)
    customer_token = issue(customer, "ideas:write")
    change = client.post(f"/api/v1/ideas/{idea.id}/status", json={"status": "planned"},
                         headers=bearer(customer_token))
    assert change.status_code == 403  # the token has the scope; the account is not staff
    staff_token = issue(staff, "ideas:write")
    change = client.post(f"/api/v1/ideas/{idea.id}/status", json={"status": "planned"}, headers=bearer(staff_token))
    assert change.status_code == 200 and change.get_json()["status"] == "planned"


def test_a_token_ignores_the_session_cookie_and_needs_no_csrf(app, client, auth, create_user, idea):
    staff = create_user("staff@example.com", role=Role.staff)
    read_only = issue(staff, "ideas:read")
    auth.login("staff@example.com")
    # Signed in as staff, but the bearer token's scopes decide.
    refused = client.post(f"/api/v1/ideas/{idea.id}/status", json={"status": "planned"}, headers=bearer(read_only))
    assert refused.status_code == 403
    app.config["WTF_CSRF_CHECK_DEFAULT"] = True
    fresh = app.test_client()
    writer = issue(staff, "ideas:write")
    made = fresh.post("/api/v1/ideas", json={"title": "Sent by a script", "body": ""}, headers=bearer(writer))
    assert made.status_code == 201


@pytest.mark.parametrize("case", ["revoked", "expired", "unknown", "malformed", "owner_inactive"])
def test_unusable_tokens_get_401_naming_why(app, client, create_user, case):
    user = create_user("owner@example.com")
    secret = issue(user, "ideas:read")
    row = db.session.query(ApiToken).one()
    headers = bearer(secret)
    if case == "revoked":
        tokens.revoke_token(row, user)
    elif case == "expired":
        row.expires_at = utcnow() - timedelta(seconds=1)
    elif case == "unknown":
        headers = bearer(secret[:-2] + "xx")
    elif case == "malformed":
        headers = {"Authorization": f"Token {secret}"}
    else:
        user.active = False
    db.session.commit()
    response = client.get("/api/v1/ideas", headers=headers)
    assert response.status_code == 401
    code = response.get_json()["error"]["code"]
    assert code == {"revoked": "token_revoked", "expired": "token_expired", "unknown": "invalid_token",
                    "malformed": "invalid_token", "owner_inactive": "token_owner_inactive"}[case]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if case in ("revoked", "expired"):
        assert case in response.get_json()["error"]["message"]


def test_only_a_hash_is_stored_and_last_use_is_recorded(app, client, create_user):
    user = create_user("owner@example.com")
    secret = issue(user, "ideas:read", days=None)
    row = db.session.query(ApiToken).one()
    assert secret.startswith("ckn_") and len(secret) > 40
    assert secret not in (row.token_hash, row.prefix) and row.token_hash == tokens.hash_token(secret)
    assert row.last_used_at is None and row.expires_at is None
    client.get("/api/v1/ideas", headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at is not None


def test_a_service_token_stops_when_its_admin_is_demoted(app, client, create_user):
    admin = create_user("admin@example.com", role=Role.admin)
    secret = issue(admin, "ideas:read", kind=TokenKind.service)
    assert client.get("/api/v1/ideas", headers=bearer(secret)).status_code == 200
    admin.role = Role.staff
    db.session.commit()
    response = client.get("/api/v1/ideas", headers=bearer(secret))
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_owner_not_admin"


def test_token_pages_show_the_secret_once_and_revoke_in_one_click(app, client, auth, create_user):
    create_user("me@example.com")
    auth.login("me@example.com")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "gaps:read" not in page and "ideas:write" in page  # customers are offered what they may use
    created = client.post("/account/tokens", data={"name": "Zapier", "scopes": ["ideas:read"], "expires": "30",
                                                   "csrf_token": csrf_token(client, "/account/tokens")})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    secret = re.search(r"ckn_[\w-]+", created.get_data(as_text=True)).group(0)
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "Zapier" in listing and secret not in listing
    row = db.session.query(ApiToken).one()
    bad = client.post("/account/tokens", data={"name": "", "scopes": [], "expires": "30",
                                               "csrf_token": csrf_token(client, "/account/tokens")})
    assert bad.status_code == 422 and db.session.query(ApiToken).count() == 1
    revoked = client.post(f"/account/tokens/{row.id}/revoke",
                          data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert revoked.status_code == 302
    assert app.test_client().get("/api/v1/ideas", headers=bearer(secret)).status_code == 401


def test_nobody_revokes_or_lists_another_persons_tokens(app, client, auth, create_user):
    owner = create_user("owner@example.com")
    create_user("other@example.com")
    issue(owner, "ideas:read")
    row = db.session.query(ApiToken).one()
    auth.login("other@example.com")
    assert "test script" not in client.get("/account/tokens").get_data(as_text=True)
    response = client.post(f"/account/tokens/{row.id}/revoke",
                           data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert response.status_code == 404
    assert client.get("/integrations/tokens").status_code == 403
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).revoked_at is None
