"""One process's vector index on a large community: rebuild from the database, memory, snapshot, start from the
snapshot, catching up with new passages, and search latency (issue 17).

    COKNOW_INSTANCE_DIR=DIR python bench/load/index_scale.py [--new 2000] [--queries 100]

Runs against the app configured by the environment, after `flask coknow seed --scale N`. Prints one JSON line
per step; RSS is the process's resident memory after the step.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import time


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--new", type=int, default=2000, help="posts added (a quarter are new threads) before the catch-up")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()

    from wsgi import app

    with app.app_context():
        from community import search
        from community.extensions import db
        from community.scale import _pool, seed_scale

        def report(step: str, seconds: float, **extra: object) -> None:
            print(json.dumps({"step": step, "seconds": round(seconds, 2), "rss_mb": round(rss_mb()), **extra}), flush=True)

        report("start", 0.0)
        started = time.perf_counter()
        cache = search.get_cache()  # no snapshot yet: the process builds its index from the table
        report("first start: build from the database", time.perf_counter() - started, passages=len(cache))
        del cache

        started = time.perf_counter()
        search.save_snapshot(app)
        report("save snapshot", time.perf_counter() - started)

        state = search._state(app)
        state.cache = None  # as a new process: load the snapshot, then catch up from the table
        gc.collect()
        started = time.perf_counter()
        search.get_cache()
        report("start from the snapshot", time.perf_counter() - started)

        added = seed_scale(args.new, members=10)
        db.session.commit()
        started = time.perf_counter()
        search.get_cache()
        report("catch up with new passages", time.perf_counter() - started, new_passages=added.passages)

        titles, _sentences = _pool()
        times = []
        for question in titles[: args.queries]:
            t0 = time.perf_counter()
            search.similar(question, source_types=["thread"], k=10)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        report("search (encode + FAISS + filter)", sum(times) / 1000, queries=len(times),
               p50_ms=round(statistics.median(times), 1), p95_ms=round(times[int(len(times) * 0.95) - 1], 1))


if __name__ == "__main__":
    main()
