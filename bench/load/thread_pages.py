"""A thread with tens of thousands of replies: the in-process cost of its pages, one thread, signed out.

    python bench/load/thread_pages.py [--replies 75301] [--views 5]

--replies first grows the community's biggest thread to that many replies, written in bulk (bodies and
authors copied from replies already there, one second apart): `seed --scale` spreads its replies thinly (its
biggest thread at 200,000 posts has about 20), and the 2M-post community of session 5 had one thread of 75,301.
Then each page below is viewed --views times after one warm-up view, and its median time, SQL statements and
size are printed: the first page, the page holding an early and a middle reply (?reply=, as links from
notifications and search open it), the last page, and the three pages the first page's Newer link leads to.
Code without pages of replies answers every one of them with the whole thread.

The page cache is switched off (COKNOW_PAGE_CACHE_SECONDS=0): the figures are the rendering itself.
Runs against the app configured by the environment (COKNOW_INSTANCE_DIR, DATABASE_URL).
"""
from __future__ import annotations

import argparse
import html
import os
import re
import statistics
import time
from datetime import timedelta

NEWER = re.compile(r'<a rel="next" href="([^"]+)"')


def grow(thread_id: int | None, replies: int) -> int:
    """The biggest thread (or thread_id), grown to `replies` replies; its id."""
    import sqlalchemy as sa

    from community.extensions import db
    from community.models import Reply, Thread

    if thread_id is None:
        thread_id = db.session.scalar(sa.select(Thread.id).order_by(Thread.reply_count.desc(), Thread.id).limit(1))
    thread = db.session.get(Thread, thread_id)
    assert thread is not None, "no thread to grow: run flask coknow seed --scale first"
    have = db.session.scalar(sa.select(sa.func.count()).select_from(Reply).where(Reply.thread_id == thread_id)) or 0
    samples = db.session.execute(sa.select(Reply.author_id, Reply.body, Reply.body_html, Reply.body_html_version)
                                 .where(Reply.body_html.is_not(None)).limit(500)).all()
    assert samples, "no replies to copy bodies from"
    start = thread.created_at + timedelta(minutes=1)
    for lo in range(have, replies, 5000):
        rows = [{"thread_id": thread_id, "author_id": s.author_id, "body": s.body, "body_html": s.body_html,
                 "body_html_version": s.body_html_version, "created_at": start + timedelta(seconds=n)}
                for n in range(lo, min(replies, lo + 5000)) for s in (samples[n % len(samples)],)]
        db.session.execute(sa.insert(Reply), rows)
    total = max(have, replies)
    db.session.execute(sa.update(Thread).where(Thread.id == thread_id)
                       .values(reply_count=total, last_activity_at=start + timedelta(seconds=total)))
    db.session.commit()
    return thread_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=75_301, help="grow the biggest thread to this many replies")
    parser.add_argument("--thread", type=int, default=None, help="this thread instead of the biggest")
    parser.add_argument("--views", type=int, default=5)
    args = parser.parse_args()
    os.environ["COKNOW_PAGE_CACHE_SECONDS"] = "0"

    import sqlalchemy as sa
    from sqlalchemy import event

    from community.extensions import db
    from community.models import Reply
    from wsgi import app

    with app.app_context():
        thread_id = grow(args.thread, args.replies)
        ids = list(db.session.scalars(sa.select(Reply.id).where(Reply.thread_id == thread_id)
                                      .order_by(Reply.created_at, Reply.id)))
        engine = db.engine
    print(f"thread {thread_id}: {len(ids):,} replies")
    counter = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_a: object) -> None:
        counter["n"] += 1

    client = app.test_client()
    base = f"/forum/t/{thread_id}"
    pages = {"first page": base, "early reply": f"{base}?reply={ids[min(2, len(ids) - 1)]}",
             "middle reply": f"{base}?reply={ids[len(ids) // 2]}", "last page": f"{base}?page=last"}
    text = client.get(base).get_data(as_text=True)
    for n in range(1, 4):
        link = NEWER.search(text)
        if not link:
            break
        pages[f"newer x{n}"] = html.unescape(link.group(1)).split("#")[0]
        text = client.get(pages[f"newer x{n}"]).get_data(as_text=True)
    print(f"{'page':14s} {'ms p50':>9s} {'queries':>8s} {'replies':>8s} {'KB':>7s}")
    for name, path in pages.items():
        assert client.get(path).status_code == 200, path
        times = []
        for _ in range(args.views):
            counter["n"] = 0
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        body = response.get_data(as_text=True)
        shown = len(set(re.findall(r'<article class="post reply[^"]*" id="reply-(\d+)"', body)))
        print(f"{name:14s} {statistics.median(times):9.1f} {counter['n']:8d} {shown:8d} {len(body) / 1024:7.0f}")


if __name__ == "__main__":
    main()
