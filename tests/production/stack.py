"""The production stack on loopback, for the production tests and bench/load/scaling.py: gunicorn web
processes with the project's settings (deploy/gunicorn.conf.py) and a real nginx in front of them running
the project's own deploy/nginx.conf, rendered for this machine (its upstream, port and static folder) and
run unprivileged in the foreground from a temporary folder.
"""
from __future__ import annotations

import http.client
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# nginx's access log, one line per request: who asked, which web process answered ("-": nginx itself).
ACCESS_FORMAT = "$remote_addr $upstream_addr $status $request_uri"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_or_skip() -> None:
    """Skip the calling test when Redis does not answer (fail it when REQUIRE_SERVICES=1)."""
    import pytest
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is required (REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")


def nginx_binary() -> str | None:
    """nginx from PATH, or from the sbin folder beside a bin folder of PATH (Debian installs it in sbin, which a
    normal user's PATH lacks); None when not installed."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    sbins = [str(Path(f).parent / "sbin") for f in folders if Path(f).name == "bin"]
    return shutil.which("nginx", path=os.pathsep.join(folders + sbins))


def client_address(n: int) -> str:
    """The n-th visitor's loopback address (n from 1), for binding a client socket.

    nginx's ip_hash keys IPv4 clients by their first three octets, so every 127.0.0.x lands on one web process;
    127.0.n.1 gives each visitor its own key, as distinct real clients would have (all of 127/8 is loopback).
    """
    if not 1 <= n <= 255:
        raise ValueError(f"visitor number {n} is outside 1-255")
    return f"127.0.{n}.1"


class Process:
    """One production web process: gunicorn with the project's settings on its own port."""

    def __init__(self, name: str, database_url: str, instance: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            "PORT": str(self.port),
            "DATABASE_URL": database_url,
            "COKNOW_INSTANCE_DIR": str(instance),
            "COKNOW_INDEX_DIR": str(instance / f"index-{name}"),
            "COKNOW_JOBS_URL": "immediate",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **(env or {}),
        }
        self.log = (instance / f"{name}.log").open("w")
        self.proc = subprocess.Popen(  # noqa: S603  (our own command)
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        _wait_healthy(self.base, self.proc, self.log.name, timeout)

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


def render_nginx_conf(folder: Path, ports: list[int], listen: int, static: Path = ROOT / "static") -> str:
    """A complete nginx.conf running deploy/nginx.conf as shipped, but for the web processes on ports, listening on
    127.0.0.1:listen, serving static, with its logs, pid and temporary files in folder (nothing needs root)."""
    site = NGINX_CONF.read_text(encoding="utf-8")
    upstream = re.search(r"upstream coknow \{\n(.*?)\n\}", site, re.S)
    shipped_servers = re.findall(r"^\s*server \S+;.*$", upstream.group(1) if upstream else "", re.M)
    if not upstream or not shipped_servers:
        raise ValueError(f"{NGINX_CONF} has no `upstream coknow` block with server lines")
    indent = re.match(r"\s*", shipped_servers[0]).group(0)  # type: ignore[union-attr]
    servers = "\n".join(f"{indent}server 127.0.0.1:{port};" for port in ports)
    block = upstream.group(1)
    block = block.replace(shipped_servers[0], servers, 1)
    for line in shipped_servers[1:]:
        block = block.replace(line + "\n", "", 1)
    site = site.replace(upstream.group(1), block, 1)
    for pattern, replacement in ((r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{listen};"),
                                 (r"^(\s*)alias /srv/coknow/static/;", rf"\g<1>alias {static}/;")):
        site, count = re.subn(pattern, replacement, site, count=1, flags=re.M)
        if count != 1:
            raise ValueError(f"{NGINX_CONF} no longer has a line matching {pattern!r}")
    # As root, nginx's workers would switch to the user `nobody`, who may not read the checkout.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    # The types the static folder holds, declared here rather than read from the system nginx's configuration.
    types = ("types { text/css css; text/javascript js; image/svg+xml svg; image/png png; image/x-icon ico; "
             "font/woff2 woff2; application/json json; }")
    temporary = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}worker_processes auto;
error_log {folder / 'error.log'} warn;
events {{ worker_connections 4096; }}
http {{
    {types}
    default_type application/octet-stream;
    log_format upstream '{ACCESS_FORMAT}';
    access_log {folder / 'access.log'} upstream;
{temporary}
{site}
}}
"""


class Nginx:
    """A real nginx in front of the web processes on ports, in the foreground, from its own folder."""

    def __init__(self, folder: Path, ports: list[int]) -> None:
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (make system-deps)")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (folder / "nginx.conf").write_text(render_nginx_conf(folder, ports, self.port), encoding="utf-8")
        self.log = (folder / "nginx.out").open("w")
        self.proc = subprocess.Popen(  # noqa: S603  (nginx with the config written above)
            [binary, "-p", str(folder), "-c", "nginx.conf", "-e", str(folder / "error.log"),
             "-g", f"daemon off; pid {folder / 'nginx.pid'};"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        _wait_healthy(self.base, self.proc, str(self.folder / "error.log"), timeout)

    def access_log(self, until: str | None = None, timeout: float = 5) -> list[tuple[str, str, int, str]]:
        """(client address, web process that answered or "-", status, path) of every request so far; with until,
        once a request whose path holds that text is in it (nginx writes a line once the answer has gone out, and
        a WebSocket's when it closes)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = []
            for line in (self.folder / "access.log").read_text(encoding="utf-8").splitlines():
                client, upstream, status, path = line.split(" ", 3)
                rows.append((client, upstream, int(status), path))
            if until is None or any(until in row[3] for row in rows) or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)

    def stop(self) -> None:
        _stop(self.proc)
        self.log.close()


def get_from(address: str, base: str, path: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET base + path on a new connection from the given local address."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout, source_address=(address, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wait_healthy(base: str, proc: subprocess.Popen, log: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{base}: exited with {proc.returncode}; see {log}")
        try:
            if requests.get(base + "/api/v1/health", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{base} did not start; see {log}")


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
