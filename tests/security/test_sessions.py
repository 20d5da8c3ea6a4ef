"""Sessions end on the server: a copied cookie stops working at logout, other sessions at a password change."""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, UTC
from email.utils import parsedate_to_datetime

import pytest

from community.auth import services
from community.extensions import socketio
from tests.conftest import Auth, csrf_token


def _login_elsewhere(app, client, email: str) -> None:
    # A request reuses the test's app context and its cached user: another browser needs its own.
    with app.app_context():
        Auth(client).login(email)


def _me(app, client) -> int:
    """GET /api/v1/me as its own request (not reusing the test's app context and its cached user)."""
    with app.app_context():
        return client.get("/api/v1/me").status_code


def _copy_cookies(source, target, *names: str) -> None:
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        target.set_cookie(name, cookie.value)


def test_a_session_cookie_replayed_after_logout_is_refused(app, client, create_user):
    user = create_user(email="a@example.com")
    Auth(client).login(user.email)
    thief = app.test_client()
    _copy_cookies(client, thief, "session")
    assert _me(app, thief) == 200
    Auth(client).logout()
    assert _me(app, thief) == 401
    assert _me(app, client) == 401


def test_a_remember_cookie_stops_working_at_logout(app, client, create_user):
    user = create_user(email="a@example.com")
    token = csrf_token(client, "/login")
    client.post("/login", data={"email": user.email, "password": "correct horse battery", "remember": "y",
                                "csrf_token": token})
    remember = client.get_cookie("remember_token")
    assert remember is not None
    thief = app.test_client()
    thief.set_cookie("remember_token", remember.value)
    assert _me(app, thief) == 200  # the remember cookie alone signs in...
    Auth(client).logout()
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert _me(app, fresh) == 401  # ...until the session it belongs to ends


def test_remember_cookie_is_lax_http_only_and_bounded(client, create_user):
    user = create_user(email="a@example.com")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": "correct horse battery", "remember": "y",
                                           "csrf_token": token})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    assert "SameSite=Lax" in header and "HttpOnly" in header
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)  # not a year


def test_remember_cookie_is_secure_behind_https(app, database, tmp_path):
    from community import create_app

    secure = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database, "COKNOW_INSTANCE_DIR": str(tmp_path),
                         "REMEMBER_COOKIE_SECURE": True})
    assert secure.config["REMEMBER_COOKIE_SECURE"] is True
    from community.config import load_config

    assert load_config({"COKNOW_SECURE_COOKIES": "1"}, tmp_path)["REMEMBER_COOKIE_SECURE"] is True


def test_a_password_change_ends_every_other_session(app, client, create_user):
    user = create_user(email="a@example.com")
    Auth(client).login(user.email)
    laptop = app.test_client()
    _login_elsewhere(app, laptop, user.email)
    assert _me(app, laptop) == 200
    response = client.post("/password", data={"current_password": "correct horse battery",
                                              "new_password": "a brand new secret", "confirm": "a brand new secret",
                                              "csrf_token": csrf_token(client, "/password")})
    assert response.status_code == 302
    assert _me(app, client) == 200  # the session that changed it goes on
    assert _me(app, laptop) == 401


def test_logout_disconnects_the_sessions_sockets(app, client, create_user):
    user = create_user(email="a@example.com")
    Auth(client).login(user.email)
    other = app.test_client()
    _login_elsewhere(app, other, user.email)
    with app.app_context():
        live = socketio.test_client(app, namespace="/live", flask_test_client=client)
    with app.app_context():
        chat = socketio.test_client(app, namespace="/chat", flask_test_client=client)
    with app.app_context():
        elsewhere = socketio.test_client(app, namespace="/live", flask_test_client=other)
    assert live.is_connected("/live") and chat.is_connected("/chat") and elsewhere.is_connected("/live")
    Auth(client).logout()
    assert not live.is_connected("/live")
    assert not chat.is_connected("/chat")
    assert elsewhere.is_connected("/live")  # another device's session is not this logout's business
    elsewhere.disconnect(namespace="/live")


def _fail_login(client, email: str):
    return client.post("/login", data={"email": email, "password": "wrong password!", "csrf_token": csrf_token(client, "/login")})


def test_the_sixth_failure_in_fifteen_minutes_is_refused(app, client, create_user):
    user = create_user(email="a@example.com")
    for _ in range(5):
        assert _fail_login(client, user.email).status_code == 422  # the form again, with its message
    refused = _fail_login(client, user.email)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    # While blocked, even the right password is refused: guessing cannot go on in the background.
    assert Auth(client).login(user.email).status_code == 429


def test_failures_count_per_address_across_accounts(app, client, create_user):
    for n in range(5):
        assert _fail_login(client, f"someone{n}@example.com").status_code == 422
    assert _fail_login(client, "yet-another@example.com").status_code == 429
    # Another address may still log in to an account that was not attacked.
    user = create_user(email="fine@example.com")
    elsewhere = app.test_client()
    with app.app_context():
        token = csrf_token(elsewhere, "/login")
    with app.app_context():
        response = elsewhere.post("/login", data={"email": user.email, "password": "correct horse battery",
                                                  "csrf_token": token}, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert response.status_code == 302


# A real hash cost (~10 ms here) so that the hash, not the shared machine's noise, is what is timed.
@pytest.mark.app_config(COKNOW_PASSWORD_COST=13)
def test_unknown_accounts_take_as_long_as_wrong_passwords(app, create_user):
    user = create_user(email="known@example.com")

    def timed(email: str, address: str) -> float:
        started = time.perf_counter()
        assert services.authenticate(email, "not the password", address) is None
        return time.perf_counter() - started

    # Taken in turns, so that a busy moment of the machine falls on both kinds alike.
    known, unknown = [], []
    for n in range(5):  # the sixth failure on one account is refused
        known.append(timed(user.email, f"10.1.0.{n}"))
        unknown.append(timed(f"nobody{n}@example.com", f"10.2.0.{n}"))
    # Both run one scrypt hash; before, the unknown account answered about ten times faster.
    assert statistics.median(unknown) > statistics.median(known) * 0.5, (sorted(known), sorted(unknown))
