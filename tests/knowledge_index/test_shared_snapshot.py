"""A snapshot's main index mapped read-only (shared by processes): same answers, catch-up, two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from knowledge_index.chunking import article_passages
from knowledge_index.embedder import Embedder
from knowledge_index.store import VectorStore, current_snapshot
from knowledge_index.sync import IndexCache, define_entries_table, remove_source, upsert_source

ROOT = Path(__file__).resolve().parents[2]


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _mapped_files(pid: int | str = "self") -> set[str]:
    """Files a process maps, as /proc lists them."""
    with open(f"/proc/{pid}/maps", encoding="utf-8") as maps:
        return {parts[5].strip() for line in maps if len(parts := line.split(maxsplit=5)) == 6}


def test_mapped_store_answers_like_the_in_memory_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    dim = 32
    x = _unit(rng, 3000, dim)
    store = VectorStore(dim, flat_threshold=1000, merge_threshold=200)
    store.build(np.arange(1, 3001), x)
    store.remove([5, 6, 7])  # tombstones in the graph
    store.add([8, 4001], _unit(rng, 2, dim))  # a replaced graph entry and a new one, both in the side index
    store.save(tmp_path / "s")

    copied = VectorStore.load(tmp_path / "s")
    mapped = VectorStore.load(tmp_path / "s", mmap=True)
    assert not copied.mapped and mapped.mapped and mapped.kind == "hnsw_sq8"
    assert str(tmp_path / "s" / "main.faiss") in _mapped_files()
    assert len(mapped) == len(copied) == 2998

    q = x[:60] + 0.05 * _unit(rng, 60, dim)
    for allowed in (None, np.arange(1, 400), np.array([5, 8, 9, 4001])):
        d_copied, i_copied = copied.search(q, 10, allowed=allowed)
        d_mapped, i_mapped = mapped.search(q, 10, allowed=allowed)
        assert np.array_equal(i_copied, i_mapped)
        assert np.allclose(d_copied, d_mapped)
    assert not set(mapped.search(x[4:7], 5)[1].ravel()) & {5, 6, 7}
    assert np.allclose(mapped.vectors([1, 8, 4001, 5]), copied.vectors([1, 8, 4001, 5]))

    # Writes land in the side index and tombstones; the read-only graph is never merged into.
    mapped.add(np.arange(5000, 5300), _unit(rng, 300, dim))
    mapped.remove(np.arange(10, 1000))
    assert mapped.maintain() is None and mapped.side_size == 302 and mapped.tombstones == 4 + 990
    _, got = mapped.search(x[20:21], 3)
    assert 21 not in got[0]
    # Saving a mapped store writes a new, loadable snapshot (files replaced by rename, never rewritten).
    mapped.save(tmp_path / "t")
    again = VectorStore.load(tmp_path / "t")
    assert len(again) == len(mapped)
    assert np.array_equal(again.search(q, 10)[1], mapped.search(q, 10)[1])


def _put(conn: sa.Connection, table: sa.Table, embedder: Embedder, key: str, title: str, body: str) -> None:
    passages = article_passages(title, body, count_tokens=embedder.count_tokens)
    upsert_source(conn, table, "article", key, passages, {"lang": "en"}, embedder, title=title)


ARTICLES = {
    "refunds": ("Refunds", "Money back within 30 days of the purchase."),
    "password": ("Reset your password", "Use the forgot password link on the sign-in page."),
    "invoices": ("Invoices", "Invoices are emailed monthly as PDF files."),
    "shipping": ("Shipping times", "Parcels arrive within five working days."),
}


def _snapshot_with_graph(engine: sa.Engine, table: sa.Table, embedder: Embedder, root: Path) -> IndexCache:
    """A cache whose passages sit in an HNSW graph (a tiny threshold), saved as a snapshot under root."""
    with engine.begin() as conn:
        for key, (title, body) in ARTICLES.items():
            _put(conn, table, embedder, key, title, body)
    cache = IndexCache(table, embedder, store=VectorStore(embedder.dim, flat_threshold=2))
    with engine.connect() as conn:
        cache.rebuild(conn)
    assert cache.store.kind == "hnsw_sq8"
    cache.save(root)
    return cache


def test_cache_from_a_mapped_snapshot_catches_up(
    engine: sa.Engine, table: sa.Table, embedder: Embedder, tmp_path: Path
) -> None:
    built = _snapshot_with_graph(engine, table, embedder, tmp_path / "index")
    cache = IndexCache.load(tmp_path / "index", table, embedder, mmap=True)
    assert cache.store.mapped and cache.snapshot == current_snapshot(tmp_path / "index")
    for question in ("I forgot my password", "when does my parcel arrive", "money back"):
        assert [h.chunk_key for h in cache.search(question, 3)] == [h.chunk_key for h in built.search(question, 3)]

    with engine.begin() as conn:
        _put(conn, table, embedder, "gift", "Gift cards", "Gift cards never expire and can be topped up.")
        _put(conn, table, embedder, "password", "Reset your password", "An administrator resets passwords on request.")
        remove_source(conn, table, "article", "invoices")
    with engine.connect() as conn:
        result = cache.sync(conn)
    assert result.upserted >= 2 and result.removed >= 1
    assert cache.search("do gift cards expire", 1)[0].source_id == "gift"
    texts = {h.text for h in cache.search("who resets passwords", 5)}
    assert any("administrator" in t for t in texts) and not any("forgot password link" in t for t in texts)
    assert "invoices" not in {h.source_id for h in cache.search("monthly PDF invoices", 5)}
    assert cache.store.mapped and cache.store.side_size >= 2  # the changes live beside the mapped graph


_CHILD = textwrap.dedent(
    """
    import json, sys
    import sqlalchemy as sa
    from knowledge_index.sync import IndexCache, define_entries_table

    db, name, root = sys.argv[1:4]
    engine = sa.create_engine(f"sqlite:///{db}")
    table = define_entries_table(sa.MetaData(), name)
    cache = IndexCache.load(root, table, mmap=True)
    with engine.connect() as conn:
        cache.sync(conn)
    answers = {q: cache.search(q, 1)[0].source_id for q in sys.argv[4:]}
    print(json.dumps({"mapped": cache.store.mapped, "answers": answers}), flush=True)
    sys.stdin.readline()  # stay alive (and mapped) until the parent has looked
    """
)


def test_two_processes_map_one_snapshot_and_both_answer(embedder: Embedder, tmp_path: Path) -> None:
    db = tmp_path / "index.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    metadata = sa.MetaData()
    table = define_entries_table(metadata, "shared_entries")
    metadata.create_all(engine)
    root = tmp_path / "index"
    _snapshot_with_graph(engine, table, embedder, root)
    with engine.begin() as conn:  # written after the snapshot: each process must catch it up itself
        _put(conn, table, embedder, "gift", "Gift cards", "Gift cards never expire and can be topped up.")
    engine.dispose()

    questions = ["I forgot my password", "when does my parcel arrive", "do gift cards expire"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD, str(db), table.name, str(root), *questions],  # noqa: S603
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        for _ in range(2)
    ]
    try:
        replies = [json.loads(child.stdout.readline()) for child in children]  # type: ignore[union-attr]
        main_file = str(current_snapshot(root) / "store" / "main.faiss")  # type: ignore[operator]
        for child in children:  # both alive at once, both mapping the one file
            assert main_file in _mapped_files(child.pid)
    finally:
        for child in children:
            child.communicate("\n", timeout=60)
    expected = {"I forgot my password": "password", "when does my parcel arrive": "shipping",
                "do gift cards expire": "gift"}
    assert [r["mapped"] for r in replies] == [True, True]
    assert [r["answers"] for r in replies] == [expected, expected]
    assert [c.returncode for c in children] == [0, 0]
