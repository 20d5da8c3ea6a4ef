"""Page speed under load: requests/s and p50/p95 of the site's main pages, each as a ratio to the trivial
/api/v1/health endpoint of the same server, measured in one run with N concurrent clients.

Usage (a server must already run on the demo data, e.g. `flask coknow seed && flask coknow serve`):

    python bench/load/pages.py --base http://127.0.0.1:5000 --clients 20 --seconds 8 --rounds 4
    python bench/load/pages.py --base http://127.0.0.1:5000 --soak 600        # page mix, 10 minutes
    python bench/load/pages.py --base http://127.0.0.1:5000 --login zhang.wei@example.com:demo-password-1  # signed in

The load generator runs on the same machine as the server: absolute figures depend on what else runs (the
load average is printed with them); the ratio to the health endpoint, measured in the same run, survives that
better, all the more as the pages and the health endpoint are measured in interleaved rounds. A soak counts 5xx answers and failed connections (a crashed server) and exits non-zero on any.
Rate limits should be off on the server (COKNOW_RATE_LIMITS=0), or the health endpoint is limited.
"""
from __future__ import annotations

import argparse
import http.client
import http.cookies
import os
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def merge(self, other: Result) -> None:
        self.latencies += other.latencies
        for k, v in other.statuses.items():
            self.statuses[k] = self.statuses.get(k, 0) + v
        self.errors += other.errors

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def server_errors(self) -> int:
        return sum(v for k, v in self.statuses.items() if k >= 500)


def load_average() -> str:
    try:
        with open("/proc/loadavg") as f:
            return "load average " + " ".join(f.read().split()[:3])
    except OSError:
        return "load average unknown"


class Client:
    """One keep-alive HTTP/1.1 connection (re-opened when the server closes it)."""

    def __init__(self, base: str, timeout: float) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.keep_cookies = False  # a signed-in client keeps its session cookie; anonymous ones send none
        self.cookies: dict[str, str] = {}

    def login(self, credentials: str) -> None:
        """Sign in through the login form (its CSRF token and session cookie), as a browser does."""
        email, _sep, password = credentials.partition(":")
        self.keep_cookies = True
        status, page = self.get("/login")
        token = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page) or re.search(
            rb'<meta name="csrf-token" content="([^"]+)"', page)
        if status != 200 or token is None:
            sys.exit(f"no login form at /login (status {status})")
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token.group(1).decode()})
        status, _body = self.request("POST", "/login", form.encode())
        if status not in (302, 303):
            sys.exit(f"signing in as {email} failed (status {status})")

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                body_read = response.read()
                if self.keep_cookies:
                    for header in response.headers.get_all("Set-Cookie") or []:
                        for name, morsel in http.cookies.SimpleCookie(header).items():
                            self.cookies[name] = morsel.value
                if response.will_close:
                    self.conn.close()
                    self.conn = None
                return response.status, body_read
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed between requests: one retry on a new one.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def sign_in(base: str, clients: int, timeout: float, login: str) -> list[dict[str, str]]:
    """One signed-in session (its cookies) per client, made once before any measuring."""
    sessions = []
    for _ in range(clients):
        client = Client(base, timeout)
        client.login(login)
        sessions.append(dict(client.cookies))
    return sessions


def run(base: str, paths: list[str], clients: int, seconds: float, timeout: float,
        sessions: list[dict[str, str]] | None = None) -> Result:
    """clients threads GET paths (in turn) for seconds; every answer's latency and status (client i in
    sessions[i] when given: signed in)."""
    connections = [Client(base, timeout) for _ in range(clients)]
    for client, cookies in zip(connections, sessions or [], strict=False):
        client.keep_cookies, client.cookies = True, dict(cookies)
    stop = time.monotonic() + seconds
    results = [Result() for _ in range(clients)]

    def worker(i: int) -> None:
        client, out, n = connections[i], results[i], i
        while time.monotonic() < stop:
            path = paths[n % len(paths)]
            n += 1
            t0 = time.perf_counter()
            try:
                status, _ = client.get(path)
            except Exception as exc:  # a refused or dropped connection counts: the server may have died
                out.errors.append(f"{path}: {type(exc).__name__}: {exc}")
                client.conn = None
                time.sleep(0.05)
                continue
            out.latencies.append(time.perf_counter() - t0)
            out.statuses[status] = out.statuses.get(status, 0) + 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = Result(elapsed=time.monotonic() - started)
    for r in results:
        total.merge(r)
    return total


def discover(base: str, timeout: float) -> dict[str, str]:
    """The pages to measure, found by following the demo site's own links."""
    client = Client(base, timeout)

    def first(path: str, pattern: str, pick_longest: bool = False) -> str:
        status, body = client.get(path)
        links = list(dict.fromkeys(re.findall(pattern, body.decode("utf-8", "replace"))))
        if status != 200 or not links:
            sys.exit(f"no link matching {pattern!r} on {path} (status {status}): is the demo data seeded?")
        if not pick_longest:
            return links[0]
        # The longest page among the first few: a thread with many replies, an idea with many comments.
        return max(links[:12], key=lambda link: len(client.get(link)[1]))

    return {
        "home": "/",
        "help center": "/help/",
        "article": first("/help/", r'href="(/help/articles/[^"#?]+)"'),
        "ideas board": "/ideas/",
        "idea": first("/ideas/", r'href="(/ideas/\d+)"', pick_longest=True),
        "forum list": "/forum/",
        "thread": first("/forum/", r'href="(/forum/t/\d+)"', pick_longest=True),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0, help="per page, in all")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the seconds are split into")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of the page mix before measuring")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--only", default="", help="comma-separated page names to measure")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of the page mix; counts 5xx and failures")
    parser.add_argument("--login", default="", help="EMAIL:PASSWORD: every client signed in as this account")
    args = parser.parse_args()

    pages = discover(args.base, args.timeout)
    print(f"server {args.base}, {args.clients} clients{' signed in as ' + args.login.split(':')[0] if args.login else ''}, "
          f"{os.cpu_count()} cores, {load_average()}")
    for name, path in pages.items():
        print(f"  {name:12s} {path}")
    sessions = sign_in(args.base, args.clients, args.timeout, args.login) if args.login else None
    run(args.base, list(pages.values()), args.clients, args.warmup, args.timeout, sessions)

    if args.soak:
        result = run(args.base, ["/api/v1/health", *pages.values()], args.clients, args.soak, args.timeout, sessions)
        print(f"soak {args.soak:.0f} s: {len(result.latencies)} answers ({result.rate:.0f}/s), "
              f"p50 {result.pct(0.5) * 1000:.0f} ms, p95 {result.pct(0.95) * 1000:.0f} ms, "
              f"max {max(result.latencies, default=0) * 1000:.0f} ms, statuses {dict(sorted(result.statuses.items()))}, "
              f"5xx {result.server_errors}, failed requests {len(result.errors)}; {load_average()}")
        for line in sorted(set(result.errors))[:10]:
            print("  ", line)
        return 1 if result.server_errors or result.errors else 0

    selected = [n for n in args.only.split(",") if n] or list(pages)
    # Interleaved rounds: every page and the health endpoint get a slice of each round, so a change in what else
    # runs on the machine hits them alike and their ratio survives it.
    names = ["health", *selected]
    paths = {"health": "/api/v1/health", **pages}
    totals = {name: Result() for name in names}
    for _ in range(args.rounds):
        for name in names:
            part = run(args.base, [paths[name]], args.clients, args.seconds / args.rounds, args.timeout, sessions)
            totals[name].merge(part)
            totals[name].elapsed += part.elapsed
    base_rate = totals["health"].rate
    print(f"{'page':12s} {'req/s':>8s} {'ratio':>6s} {'p50 ms':>7s} {'p95 ms':>7s}  statuses")
    failed = 0
    for name in names:
        r = totals[name]
        failed += r.server_errors + len(r.errors)
        print(f"{name:12s} {r.rate:8.1f} {r.rate / base_rate:6.3f} {r.pct(0.5) * 1000:7.1f} {r.pct(0.95) * 1000:7.1f}"
              f"  {dict(sorted(r.statuses.items()))}{f'  errors {len(r.errors)}' if r.errors else ''}")
    print(f"after: {load_average()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
