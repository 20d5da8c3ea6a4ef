"""In-process cost of one page view (no HTTP server, one thread): the median over N views of each page,
with the number of SQL statements it ran, and optionally a cProfile of one page.

    python bench/load/profile_pages.py [--views 50] [--profile thread] [--login EMAIL:PASSWORD]

Signed out, the test client keeps its session, so repeated views are page-cache hits (community.pagecache);
COKNOW_PAGE_CACHE_SECONDS=0 measures the rendering itself. --login measures a signed-in reader's views.

Runs against the app configured by the environment (DATABASE_URL etc.), on the demo data (flask coknow seed).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import statistics
import time

from sqlalchemy import event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--views", type=int, default=50)
    parser.add_argument("--profile", default="", help="page name to profile with cProfile")
    parser.add_argument("--login", default="", help="EMAIL:PASSWORD: view the pages signed in as this account")
    args = parser.parse_args()

    from wsgi import app

    client = app.test_client()
    if args.login:
        email, _sep, password = args.login.partition(":")
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True))
        signed_in = client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token.group(1) if token else ""})
        assert signed_in.status_code == 302, f"signing in as {email} failed ({signed_in.status_code})"
    counter = {"n": 0}
    with app.app_context():
        from community.extensions import db

        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_a: object) -> None:
        counter["n"] += 1

    def link(path: str, pattern: str) -> str:
        found = re.findall(pattern, client.get(path).get_data(as_text=True))
        return max(found[:12], key=lambda p: len(client.get(p).data)) if found else path

    pages = {
        "health": "/api/v1/health",
        "home": "/",
        "help center": "/help/",
        "article": link("/help/", r'href="(/help/articles/[^"#?]+)"'),
        "ideas board": "/ideas/",
        "idea": link("/ideas/", r'href="(/ideas/\d+)"'),
        "forum list": "/forum/",
        "thread": link("/forum/", r'href="(/forum/t/\d+)"'),
    }
    print(f"{'page':12s} {'path':36s} {'ms p50':>7s} {'queries':>7s}")
    for name, path in pages.items():
        for _ in range(3):
            assert client.get(path).status_code == 200, path
        times = []
        for _ in range(args.views):
            counter["n"] = 0
            t0 = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"{name:12s} {path:36s} {statistics.median(times):7.2f} {counter['n']:7d}")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.views):
            client.get(pages[args.profile])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


if __name__ == "__main__":
    main()
