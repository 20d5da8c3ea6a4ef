"""Searches made from many threads at once (a threaded web server) add no OpenMP threads of their own."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, threading
import numpy as np
from knowledge_index.store import VectorStore, build_threads
import faiss

rng = np.random.default_rng(0)
x = rng.standard_normal((3000, 64)).astype("float32")
x /= np.linalg.norm(x, axis=1, keepdims=True)
small = VectorStore(64)
small.build(np.arange(3000), x)
large = VectorStore(64, flat_threshold=1000)
large.build(np.arange(3000), x)
assert small.kind == "flat" and large.kind == "hnsw_sq8"

def tasks():
    return len(os.listdir("/proc/self/task"))

start = tasks()
peak = [0]
def work():
    for _ in range(20):
        small.search(x[:1], 10, allowed=np.arange(0, 3000, 2))
        large.search(x[:1], 10)
    peak[0] = max(peak[0], tasks())

threads = [threading.Thread(target=work) for _ in range(20)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with build_threads():
    build = faiss.omp_get_max_threads()
print(start, peak[0], faiss.omp_get_max_threads(), build)
"""


def test_searches_from_many_threads_start_no_openmp_pools():
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,  # noqa: S603
                         timeout=120, check=True).stdout.split()
    start, peak, search_threads, build_threads = map(int, out)
    assert search_threads == 1
    assert build_threads == (os.cpu_count() or 1)
    # The 20 searching threads and what the process had before; OpenMP would add one pool per thread.
    assert peak <= start + 20, (start, peak)
