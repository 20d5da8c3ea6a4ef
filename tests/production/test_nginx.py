"""Production mode behind a real nginx running deploy/nginx.conf: two gunicorn processes on PostgreSQL and
Redis, one site.

Through nginx: pages load, static files come from nginx itself, visitors are spread over both processes
and each stays on one (ip_hash), limits count each visitor's own address (COKNOW_PROXIES=1), and
Socket.IO connects both as browsers do (WebSocket upgrade) and by long-polling (whose requests must all
reach the process holding the session), and gets live events.
Visitors bind distinct 127.0.n.1 addresses: ip_hash keys IPv4 clients by their first three octets.
"""
from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections import defaultdict

import pytest
import requests
from requests.adapters import HTTPAdapter

from community.extensions import db
from community.forum import services as forum
from tests.production.stack import (REDIS_URL, ROOT, Nginx, Process, client_address, get_from, nginx_binary,
                                    redis_or_skip)

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
VISITORS = 8
STATIC = "/static/css/coknow.css"

pytestmark = pytest.mark.slow


class _FromAddress(HTTPAdapter):
    """requests' connections from one local address (a visitor of its own)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def _visitor_session(address: str, base: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    session.headers["Origin"] = base
    return session


def _nginx_or_skip() -> None:
    if nginx_binary() is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("nginx is required (REQUIRE_SERVICES=1): make system-deps")
        pytest.skip("nginx is not installed (make system-deps)")


def test_two_processes_behind_nginx(app, backend, database, create_user, tmp_path):
    if backend != "postgresql":
        pytest.skip("production mode runs on PostgreSQL")
    redis_or_skip()
    _nginx_or_skip()
    import socketio

    ana = create_user(email="ana@example.com", display_name="Ana Lima")
    create_user(email="ben@example.com", display_name="Ben Ode")
    category = forum.save_category(None, name="Questions", description="Ask anything")
    thread_id = forum.create_thread(ana, category, "Sync stops after the update", "Since 1.4 sync stops.").id
    db.session.commit()

    env = {"SOCKETIO_MESSAGE_QUEUE": REDIS_URL, "COKNOW_RATELIMIT_STORAGE_URL": REDIS_URL,
           "COKNOW_RATELIMIT_KEY_PREFIX": f"coknow-test-{secrets.token_hex(4)}",
           "SECRET_KEY": "two-processes-share-one-secret-key", "COKNOW_CONCURRENCY": "8",
           "COKNOW_PROXIES": "1", "COKNOW_RATELIMIT_REGISTER": "1 per hour"}
    a, b = Process("a", database, tmp_path, env), Process("b", database, tmp_path, env)
    nginx = Nginx(tmp_path / "nginx", [a.port, b.port])
    clients: list[socketio.Client] = []
    try:
        a.wait_ready()
        b.wait_ready()
        nginx.wait_ready()
        ports = {f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"}

        # A page, and a static file that nginx serves itself (no web process named in its log line).
        status, page = get_from(client_address(1), nginx.base, "/")
        assert status == 200 and CSRF_META.search(page.decode()), page[:300]
        status, css = get_from(client_address(1), nginx.base, STATIC)
        assert status == 200 and css == (ROOT / STATIC.lstrip("/")).read_bytes()

        # Visitors spread over both processes, each staying on one; every loopback 127.0.0.x is one visitor.
        for n in range(1, VISITORS + 1):
            for k in range(3):
                assert get_from(client_address(n), nginx.base, f"/api/v1/health?visit={n}-{k}")[0] == 200
        for address in ("127.0.0.1", "127.0.0.2"):
            assert get_from(address, nginx.base, f"/api/v1/health?loopback={address}")[0] == 200
        served: dict[str, set[str]] = defaultdict(set)
        for visitor, upstream, _status, path in nginx.access_log(until="/api/v1/health?loopback=127.0.0.2"):
            if path == STATIC:
                assert upstream == "-", "the static file was passed to a web process"
            else:
                served[visitor].add(upstream)
        visitors = {client_address(n): served[client_address(n)] for n in range(1, VISITORS + 1)}
        assert all(len(upstreams) == 1 for upstreams in visitors.values()), visitors
        assert set().union(*visitors.values()) == ports, visitors
        assert served["127.0.0.1"] == served["127.0.0.2"], served

        # Each visitor has its own allowance: the web processes count the address nginx forwards, not nginx's.
        def register(address: str, n: int) -> int:
            session = _visitor_session(address, nginx.base)
            token = CSRF_META.search(session.get(nginx.base + "/register", timeout=10).text).group(1)
            return session.post(nginx.base + "/register", timeout=10, allow_redirects=False, data={
                "display_name": f"Visitor {n}", "email": f"visitor{n}@example.com", "password": "long enough pw",
                "confirm": "long enough pw", "csrf_token": token}).status_code

        assert [register(client_address(1), 1), register(client_address(1), 2)] == [302, 429]
        assert register(client_address(2), 3) == 302

        # A WebSocket from 127.0.0.1 (with the Origin header a browser sends) watches the thread ...
        arrived: dict[str, threading.Event] = {"websocket": threading.Event(), "polling": threading.Event()}
        payloads: dict[str, list[dict]] = {"websocket": [], "polling": []}

        def watcher(transport: str, session: requests.Session | None = None) -> socketio.Client:
            client = socketio.Client(http_session=session) if session else socketio.Client()

            @client.on("thread_reply", namespace="/live")
            def _reply(data):
                payloads[transport].append(data)
                arrived[transport].set()

            clients.append(client)
            client.connect(nginx.base, namespaces=["/live"], transports=[transport])
            assert client.call("watch_thread", {"thread_id": thread_id}, namespace="/live", timeout=10) is not False
            assert client.transport() == transport
            return client

        watcher("websocket")
        # ... and a long-polling one (several requests for one session, each of which must reach the process
        # that holds it) from a visitor on the other process.
        other = next(address for address, upstreams in visitors.items() if upstreams != served["127.0.0.1"])
        watcher("polling", _visitor_session(other, nginx.base))

        # Ben replies through nginx; both sockets get the reply live.
        ben = _visitor_session(client_address(VISITORS + 1), nginx.base)
        token = CSRF_META.search(ben.get(nginx.base + "/login", timeout=10).text).group(1)
        signed_in = ben.post(nginx.base + "/login", timeout=10, allow_redirects=False,
                             data={"email": "ben@example.com", "password": "correct horse battery", "csrf_token": token})
        assert signed_in.status_code in (302, 303), signed_in.text[:500]
        token = CSRF_META.search(ben.get(nginx.base + "/", timeout=10).text).group(1)
        posted = ben.post(f"{nginx.base}/forum/t/{thread_id}/reply", timeout=30, allow_redirects=False,
                          data={"body": "Sign out and in again.", "csrf_token": token})
        assert posted.status_code in (302, 303), posted.text[:500]
        for transport, event in arrived.items():
            assert event.wait(10), f"the reply never reached the {transport} socket through nginx"
            assert "Sign out and in again." in payloads[transport][0]["html"]
        for client in clients:
            client.disconnect()
        sockets: dict[str, list[str]] = defaultdict(list)
        for visitor, upstream, _status, path in nginx.access_log(until="transport=websocket"):
            if path.startswith("/socket.io"):
                sockets[visitor].append(upstream)
        assert set(sockets["127.0.0.1"]) == served["127.0.0.1"], sockets  # the WebSocket
        assert set(sockets[other]) == visitors[other] and len(sockets[other]) >= 3, sockets  # every poll
    finally:
        for client in clients:
            client.disconnect()
        deadline = time.monotonic() + 5
        while any(c.connected for c in clients) and time.monotonic() < deadline:
            time.sleep(0.1)
        nginx.stop()
        a.stop()
        b.stop()


def test_the_rendered_config_is_the_shipped_one_for_this_machine(tmp_path):
    """Only the upstream's servers, the listening address and the static folder differ from deploy/nginx.conf."""
    from tests.production.stack import NGINX_CONF, render_nginx_conf

    static = tmp_path / "elsewhere"
    rendered = render_nginx_conf(tmp_path, [9001, 9002, 9003], 9000, static=static)
    shipped = NGINX_CONF.read_text(encoding="utf-8")
    assert "ip_hash;" in rendered and rendered.count("ip_hash;") == shipped.count("ip_hash;")
    assert [line for line in rendered.splitlines() if line.strip().startswith("server 127.0.0.1:")] == [
        f"    server 127.0.0.1:{port};" for port in (9001, 9002, 9003)]
    assert "listen 127.0.0.1:9000;" in rendered and f"alias {static}/;" in rendered
    for line in shipped.splitlines():
        if not re.match(r"\s*(server 127\.0\.0\.1:\d+;|listen 80;|alias /srv/coknow/static/;)", line):
            assert line in rendered
