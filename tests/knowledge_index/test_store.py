"""VectorStore: add, replace, remove, persist, reload; flat and HNSW-SQ8 with side index."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from knowledge_index.embedder import Embedder
from knowledge_index.store import VectorStore, current_snapshot, write_snapshot
import contextlib


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_add_replace_remove_reload(tmp_path: Path, embedder: Embedder) -> None:
    texts = ["reset my password", "refund an order", "change the billing address", "cancel subscription"]
    vecs = embedder.encode(texts)
    store = VectorStore(embedder.dim)
    store.add([10, 11, 12, 13], vecs)
    _, ids = store.search(embedder.encode(["I forgot my password"]), 1)
    assert ids[0, 0] == 10
    # Replace id 10 with another text: the old vector must be gone.
    store.add([10], embedder.encode(["delete my account"]))
    assert len(store) == 4
    _, ids = store.search(embedder.encode(["remove my account"]), 1)
    assert ids[0, 0] == 10
    assert store.remove([11, 999]) == 1
    assert 11 not in store and len(store) == 3
    store.save(tmp_path / "s")
    again = VectorStore.load(tmp_path / "s")
    q = embedder.encode(["money back for an order"])
    assert np.array_equal(store.search(q, 3)[1], again.search(q, 3)[1])
    again.add([20], embedder.encode(["loaded stores accept writes"]))  # not mmap'd: add works
    assert len(again) == 4


def test_hnsw_with_side_index_and_tombstones(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    dim = 32
    x = _unit(rng, 3000, dim)
    ids = np.arange(1, 3001, dtype=np.int64)
    store = VectorStore(dim, flat_threshold=1000, merge_threshold=200)
    store.build(ids, x)
    assert store.kind == "hnsw_sq8"
    q = x[:50] + 0.05 * _unit(rng, 50, dim)
    exact = np.argsort(-(q @ x.T), axis=1)[:, :10] + 1
    _, got = store.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, got, strict=True)])
    assert recall >= 0.95
    # Removing from HNSW leaves a tombstone the search never returns.
    store.remove([1, 2, 3])
    _, got = store.search(x[:3], 5)
    assert not set(got.ravel()) & {1, 2, 3}
    assert len(store) == 2997 and store.tombstones == 3
    # Replacing a graph entry puts the new vector in the flat side index.
    store.add([4], x[100:101])
    _, got = store.search(x[100:101], 2)
    assert set(got[0]) == {4, 101}
    # New ids merge into the graph when the side index grows.
    store.add(np.arange(5000, 5300), _unit(rng, 300, dim))
    assert store.maintain() == "merged"
    assert len(store) == 3297
    # Filtering restricts ids in both parts.
    _, got = store.search(x[10:11], 5, allowed=np.array([11, 12, 5001]))
    assert set(got[0][got[0] >= 0]) == {11, 12, 5001}
    store.save(tmp_path / "h")
    again = VectorStore.load(tmp_path / "h")
    assert len(again) == len(store) and again.kind == "hnsw_sq8"
    assert np.array_equal(again.search(q, 10)[1], store.search(q, 10)[1])
    # Many tombstones trigger a rebuild that drops them.
    store.remove(np.arange(10, 1500))
    assert store.maintain() == "rebuilt" and store.tombstones == 0 and len(store) == 3297 - 1490


def test_snapshot_switch_is_atomic(tmp_path: Path) -> None:
    def ok(path: Path) -> None:
        (path / "a").write_text("1")

    def boom(path: Path) -> None:
        (path / "a").write_text("2")
        raise RuntimeError("disk full")

    first = write_snapshot(tmp_path, ok)
    with contextlib.suppress(RuntimeError):
        write_snapshot(tmp_path, boom)
    assert current_snapshot(tmp_path) == first
    assert (first / "a").read_text() == "1"
