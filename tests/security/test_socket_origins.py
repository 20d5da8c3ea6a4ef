"""Socket.IO refuses pages of other origins (another port of this host is same-site and gets the cookies)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import Auth

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"
SITE = "http://localhost"  # the test client's own origin


def _open(client, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    return client.get(HANDSHAKE, headers=headers)


def _connect_namespace(client, namespace: str, origin: str) -> str:
    """Open an engine.io session from origin, ask to join namespace, return the server's answer packet."""
    opened = _open(client, origin)
    assert opened.status_code == 200
    sid = json.loads(opened.get_data(as_text=True)[1:])["sid"]
    url = f"{HANDSHAKE}&sid={sid}"
    sent = client.post(url, data=f"40{namespace},", headers={"Origin": origin, "Content-Type": "text/plain"})
    assert sent.status_code == 200
    return client.get(url, headers={"Origin": origin}).get_data(as_text=True)


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:8080", "https://localhost", "null"])
def test_foreign_origins_cannot_open_a_socket(client, origin):
    refused = _open(client, origin)
    assert refused.status_code == 400
    assert b"Not an accepted origin" in refused.data


def test_the_site_itself_and_originless_clients_can(client):
    assert _open(client, SITE).status_code == 200
    assert _open(client, None).status_code == 200


@pytest.mark.app_config(COKNOW_ALLOWED_ORIGINS=["https://community.example.com"])
def test_configured_origins_are_accepted(client):
    assert _open(client, "https://community.example.com").status_code == 200
    assert _open(client, "https://evil.example.com").status_code == 400


@pytest.mark.parametrize("namespace", ["/chat", "/console", "/live"])
def test_every_namespace_is_behind_the_origin_check(client, create_user, namespace):
    staff = create_user(email="staff@example.com", role="staff")
    Auth(client).login(staff.email)
    # From the site: the staff member's console connects ("40" is a namespace connect accepted).
    assert _connect_namespace(client, namespace, SITE).startswith(f"40{namespace},")
    # From a same-site page on another port: refused before any namespace is reached.
    assert _open(client, "http://localhost:5001").status_code == 400


def test_a_customer_still_cannot_join_the_console_from_the_site(client, create_user):
    customer = create_user(email="c@example.com")
    Auth(client).login(customer.email)
    assert _connect_namespace(client, "/console", SITE).startswith("44/console,")
