"""Memory of one and of two processes holding the vector index: each with a private copy of the snapshot's main
index, or all mapping one read-only snapshot (COKNOW_INDEX_MAP_SNAPSHOT=1) — plus start time, search latency and
recall@10 against exact search (issue 17).

    COKNOW_INSTANCE_DIR=DIR python bench/load/index_shared.py [--processes 1,2] [--modes private,mapped]
                                                             [--queries 200]

Runs against the app configured by the environment, after `flask coknow seed --scale N`. Without a snapshot in
COKNOW_INDEX_DIR it first builds one in a child process (`flask coknow index-snapshot`'s code), timed. Then, per
mode and process count, it starts that many worker-like processes at once; each loads the snapshot, catches up
with the table, answers the queries twice (the first pass faults the index's pages in), and waits. While all of
them are alive the parent reads each one's /proc/PID/smaps_rollup: RSS counts a shared page in every process,
PSS splits it between the processes that map it, so the sum of PSS is what the machine pays. Prints one JSON line
per step.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
K = 10


def rollup(pid: int | str = "self") -> dict[str, int]:
    """Memory counters of a process in MB, from /proc/PID/smaps_rollup."""
    wanted = {"Rss", "Pss", "Pss_Anon", "Pss_File", "Shared_Clean", "Private_Clean", "Private_Dirty"}
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0].rstrip(":") in wanted:
                out[parts[0].rstrip(":")] = int(parts[1]) // 1024
    return out


def mapping(pid: int, name: str) -> dict[str, int]:
    """RSS and PSS in MB of the process's mappings of files called name (the snapshot's main index)."""
    rss = pss = 0
    inside = False
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                inside = len(head) >= 6 and head[-1].endswith(name)
            elif inside and head and head[0] == "Rss:":
                rss += int(head[1])
            elif inside and head and head[0] == "Pss:":
                pss += int(head[1])
    return {"rss_mb": rss // 1024, "pss_mb": pss // 1024}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share + 0.5) - 1)], 2)


# ---------------------------------------------------------------- child: one worker-like process
def child(mode: str, work: Path) -> None:
    os.environ["COKNOW_INDEX_MAP_SNAPSHOT"] = "1" if mode == "mapped" else "0"
    import numpy as np

    from wsgi import app

    with app.app_context():
        from community import search
        from knowledge_index.embedder import get_embedder

        get_embedder().encode_query("warm the model up")
        baseline = rollup()  # the app and the model, before the index: what the index adds is the difference
        started = time.perf_counter()
        cache = search.get_cache()  # load the snapshot, then catch up with the table
        start_s = time.perf_counter() - started
        questions = json.loads((work / "questions.json").read_text())
        qvecs = np.load(work / "qvecs.npy")
        exact = np.load(work / "exact.npy")
        passes = []
        for _ in range(2):  # the first pass faults the pages in, the second is the steady state
            page_ms, dense_ms, found = [], [], []
            for n, question in enumerate(questions):
                t0 = time.perf_counter()
                search.similar(question, source_types=["thread"], k=K)
                page_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                _, ids = cache.store.search(qvecs[n : n + 1], K)
                dense_ms.append((time.perf_counter() - t0) * 1000)
                found.append(len(set(ids[0].tolist()) & set(exact[n].tolist())) / K)
            passes.append({
                "similar_p50_ms": percentile(page_ms, 0.5), "similar_p95_ms": percentile(page_ms, 0.95),
                "faiss_p50_ms": percentile(dense_ms, 0.5), "faiss_p95_ms": percentile(dense_ms, 0.95),
                "recall_at_10": round(statistics.fmean(found), 4),
            })
        print(json.dumps({"start_s": round(start_s, 2), "before_index_mb": baseline, "passages": len(cache), "mapped": cache.store.mapped,
                          "side_index": cache.store.side_size, "first_pass": passes[0], "warm": passes[1]}),
              flush=True)
        sys.stdin.readline()  # stay alive, index loaded, until the parent has read the memory counters


# ---------------------------------------------------------------- where a process's index memory goes
def breakdown() -> None:
    """Python allocations of a loaded, searched cache by the source line that made them (tracemalloc: slow),
    beside the FAISS files (allocated by C++, not traced)."""
    import tracemalloc

    from wsgi import app

    with app.app_context():
        from community import search
        from knowledge_index.embedder import get_embedder

        get_embedder().encode_query("warm the model up")
        before = rollup()
        tracemalloc.start()
        cache = search.get_cache()
        search.search("how do I reset my password", 10)  # BM25's postings are built on the first search
        stats = tracemalloc.take_snapshot().statistics("lineno")
        tracemalloc.stop()
        after = rollup()
        n = len(cache)
        top = [{"where": f"{Path(s.traceback[0].filename).name}:{s.traceback[0].lineno}", "mb": round(s.size / 2**20),
                "bytes_per_passage": round(s.size / n)} for s in stats[:12]]
        print(json.dumps({"step": "breakdown", "passages": n, "rss_before_mb": before["Rss"], "rss_after_mb": after["Rss"],
                          "python_mb": round(sum(s.size for s in stats) / 2**20), "top": top}), flush=True)


# ---------------------------------------------------------------- parent
def ensure_snapshot(app) -> None:  # type: ignore[no-untyped-def]
    from knowledge_index.store import current_snapshot

    directory = app.config["COKNOW_INDEX_DIR"]
    if current_snapshot(directory) is None:
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--build"], check=True, cwd=ROOT)  # noqa: S603  (this script)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
        print(json.dumps({"step": "build snapshot (child process)", "seconds": round(time.perf_counter() - started, 1),
                          "peak_rss_mb": peak}), flush=True)
    snap = current_snapshot(directory)
    assert snap is not None
    sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in [*snap.iterdir(), *(snap / "store").iterdir()] if p.is_file()}
    print(json.dumps({"step": "snapshot", "files_mb": sizes}), flush=True)


def exact_top(app, queries: int, work: Path) -> None:  # type: ignore[no-untyped-def]
    """Encode the questions and find each one's exact top-10 over every live passage vector in the table."""
    import numpy as np
    import sqlalchemy as sa

    from community.extensions import db
    from community.models import index_entries as t
    from community.scale import _pool
    from knowledge_index.embedder import get_embedder

    titles, _sentences = _pool()
    rng = np.random.default_rng(0)
    questions = [titles[i] for i in rng.permutation(len(titles))[:queries]]
    qvecs = np.vstack([get_embedder().encode_query(q) for q in questions])  # as a search encodes them
    best_d = np.full((len(questions), K), -np.inf, np.float32)
    best_i = np.full((len(questions), K), -1, np.int64)
    started = time.perf_counter()
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.id, t.c.vector).where(t.c.deleted.is_(False), t.c.vector.is_not(None))
                            .execution_options(yield_per=20_000))
        for part in rows.partitions():
            ids = np.fromiter((r.id for r in part), np.int64, len(part))
            vecs = np.frombuffer(b"".join(r.vector for r in part), "<f4").reshape(len(part), -1)
            d = np.concatenate([best_d, qvecs @ vecs.T], axis=1)
            i = np.concatenate([best_i, np.broadcast_to(ids, (len(questions), len(ids)))], axis=1)
            top = np.argpartition(-d, K - 1, axis=1)[:, :K]
            best_d, best_i = np.take_along_axis(d, top, 1), np.take_along_axis(i, top, 1)
    (work / "questions.json").write_text(json.dumps(questions))
    np.save(work / "qvecs.npy", qvecs)
    np.save(work / "exact.npy", best_i)
    print(json.dumps({"step": "exact top-10 by brute force", "queries": len(questions),
                      "seconds": round(time.perf_counter() - started, 1)}), flush=True)


def run(mode: str, processes: int, work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    command = [sys.executable, __file__, "--child", mode, "--work", str(work)]
    kids = [subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                             text=True) for _ in range(processes)]
    try:
        replies = [json.loads(k.stdout.readline()) for k in kids]  # type: ignore[union-attr]
        ready_s = time.perf_counter() - started
        memory = [rollup(k.pid) for k in kids]
        main = [mapping(k.pid, "main.faiss") for k in kids]
    finally:
        for k in kids:
            k.communicate("\n", timeout=120)
    print(json.dumps({
        "step": f"{processes} process(es), {mode}", "all_ready_s": round(ready_s, 1),
        "sum_rss_mb": sum(m["Rss"] for m in memory), "sum_pss_mb": sum(m["Pss"] for m in memory),
        "per_process": [{**r, "memory_mb": m, "main_index_mapping": x} for r, m, x in zip(replies, memory, main, strict=True)],
    }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", default="1,2", help="process counts to measure, comma-separated")
    parser.add_argument("--modes", default="private,mapped", help="private (each process copies the main index) "
                        "and/or mapped (COKNOW_INDEX_MAP_SNAPSHOT=1)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--child", choices=("private", "mapped"), help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--breakdown", action="store_true",
                        help="only: where one process's index memory goes (Python allocations by source line)")
    args = parser.parse_args()
    if args.breakdown:
        breakdown()
        return
    if args.child:
        child(args.child, args.work)
        return
    from wsgi import app

    if args.build:
        from community import search

        with app.app_context():
            passages, snapshot = search.build_snapshot(app)
        print(json.dumps({"step": "built", "passages": passages, "snapshot": snapshot.name}), flush=True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ensure_snapshot(app)
        exact_top(app, args.queries, work)
        for mode in args.modes.split(","):
            for n in (int(p) for p in args.processes.split(",")):
                run(mode, n, work)
        print(json.dumps({"step": "load average at the end", "loadavg": os.getloadavg()}), flush=True)


if __name__ == "__main__":
    main()
