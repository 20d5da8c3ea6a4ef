"""The entries table as source of truth: upserts, tombstones, sync across caches, persistence."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from knowledge_index.chunking import article_passages, chunk_document
from knowledge_index.embedder import Embedder, ModelMismatchError
from knowledge_index.sync import IndexCache, SourceDoc, remove_source, upsert_source, upsert_sources

ARTICLES = {
    "refunds": ("Refunds", "# Refunds\n\nMoney back within 30 days.\n\n## Partial\n\nAnnual plans get partial refunds."),
    "password": ("Reset your password", "Use the forgot password link on the sign-in page."),
    "invoices": ("Invoices", "Invoices are emailed monthly as PDF files."),
}


def _put(conn: sa.Connection, table: sa.Table, embedder: Embedder, key: str, title: str, body: str, **meta: str):
    passages = article_passages(title, body, count_tokens=embedder.count_tokens)
    return upsert_source(conn, table, "article", key, passages, meta or {"lang": "en"}, embedder, title=title)


def _load_all(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    with engine.begin() as conn:
        for key, (title, body) in ARTICLES.items():
            _put(conn, table, embedder, key, title, body)


def _top(cache: IndexCache, query: str, k: int = 3) -> list[tuple[str, str]]:
    return [(h.source_id, h.chunk_key) for h in cache.search(query, k)]


def test_upsert_embeds_only_changes(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    _load_all(engine, table, embedder)
    title, body = ARTICLES["refunds"]
    with engine.begin() as conn:
        again = _put(conn, table, embedder, "refunds", title, body)
    assert (again.embedded, again.removed) == (0, 0)
    with engine.begin() as conn:
        edited = _put(conn, table, embedder, "refunds", title, body.replace("30 days", "14 days"))
    assert (edited.embedded, edited.removed) == (1, 0)
    with engine.begin() as conn:
        dropped = _put(conn, table, embedder, "refunds", title, "# Refunds\n\nMoney back within 14 days.")
    assert (dropped.embedded, dropped.removed) == (0, 1)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.chunk_key, table.c.deleted, table.c.vector).where(table.c.source_id == "refunds")).all()
    state = {r.chunk_key: (r.deleted, r.vector is None) for r in rows}
    assert state["refunds/partial#0"] == (True, True)
    assert state["refunds#0"] == (False, False)


def test_uncommitted_write_rolls_back_with_content(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        _put(conn, table, embedder, "x", "Temporary", "Will roll back.")
        raise RuntimeError("content save failed")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_sync_between_two_caches(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    a, b = IndexCache(table, embedder), IndexCache(table, embedder)
    _load_all(engine, table, embedder)
    with engine.connect() as conn:
        a.sync(conn)
        b.sync(conn)
    assert _top(b, "I forgot my password", 1) == [("password", "title")]
    # Process A edits one article and deletes another; B catches up by watermark.
    with engine.begin() as conn:
        _put(conn, table, embedder, "password", "Reset your password", "Passwords are reset by an administrator.")
        remove_source(conn, table, "article", "invoices")
    with engine.connect() as conn:
        res = b.sync(conn)
        assert (res.upserted, res.removed) == (1, 2)
        assert b.sync(conn).upserted == 0  # idempotent
    texts = {h.text for h in b.search("who resets passwords", 5)}
    assert "Passwords are reset by an administrator." in texts
    assert "Use the forgot password link on the sign-in page." not in texts
    assert all(h.source_id != "invoices" for h in b.search("monthly PDF invoice", 10))
    assert len(b) == 5


def test_rebuild_matches_incremental(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    inc = IndexCache(table, embedder)
    _load_all(engine, table, embedder)
    with engine.connect() as conn:
        inc.sync(conn)
    with engine.begin() as conn:
        _put(conn, table, embedder, "refunds", "Refunds", "Refunds take 14 days.")
        remove_source(conn, table, "article", "invoices")
    full = IndexCache(table, embedder)
    with engine.connect() as conn:
        inc.sync(conn)
        full.rebuild(conn)
    assert inc.watermark == full.watermark
    queries = ("money back", "password link", "refunds for annual plans", "invoice")
    for q, v in zip(queries, embedder.encode(queries), strict=True):
        got_inc = [(h.id, round(h.score, 5)) for h in inc.search(q, 5, query_vector=v)]
        got_full = [(h.id, round(h.score, 5)) for h in full.search(q, 5, query_vector=v)]
        assert got_inc == got_full


def test_save_load_then_catch_up(engine: sa.Engine, table: sa.Table, embedder: Embedder, tmp_path: Path) -> None:
    cache = IndexCache(table, embedder)
    _load_all(engine, table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    cache.save(tmp_path / "index")
    with engine.begin() as conn:
        _put(conn, table, embedder, "shipping", "Shipping", "Orders ship within two business days.")
    loaded = IndexCache.load(tmp_path / "index", table, embedder)
    assert len(loaded) == len(cache)
    assert [h.id for h in loaded.search("money back", 3)] == [h.id for h in cache.search("money back", 3)]
    with engine.connect() as conn:
        assert loaded.sync(conn).upserted == 2
    assert loaded.search("when will my order ship", 1)[0].source_id == "shipping"


def test_model_mismatch_is_an_error(engine: sa.Engine, table: sa.Table, embedder: Embedder, tmp_path: Path) -> None:
    _load_all(engine, table, embedder)
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.source_id == "invoices").values(model="old-model", seq=table.c.seq + 1000))
    cache = IndexCache(table, embedder)
    with engine.connect() as conn, pytest.raises(ModelMismatchError, match="old-model.*all-MiniLM-L6-v2"):
        cache.sync(conn)
    with engine.connect() as conn, pytest.raises(ModelMismatchError, match="old-model"):
        cache.rebuild(conn)
    with engine.begin() as conn, pytest.raises(ModelMismatchError, match="old-model"):
        _put(conn, table, embedder, "invoices", "Invoices", "Changed text.")


def test_out_of_order_commits_are_not_missed(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serializes writers, so its change sequence is already in commit order")
    cache = IndexCache(table, embedder)
    slow = engine.connect()
    slow_tx = slow.begin()
    _put(slow, table, embedder, "slow", "Slow article", "Committed last but numbered first.")
    with engine.begin() as conn:
        _put(conn, table, embedder, "fast", "Fast article", "Committed first.")
    with engine.connect() as conn:
        cache.sync(conn)
    assert {h.source_id for h in cache.search("article", 5)} == {"fast"}
    slow_tx.commit()
    slow.close()
    with engine.connect() as conn:
        cache.sync(conn)
    assert {h.source_id for h in cache.search("article", 5)} == {"fast", "slow"}


def test_searches_run_during_sync(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    cache = IndexCache(table, embedder)
    _load_all(engine, table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    qvec = embedder.encode_query("password")
    errors: list[BaseException] = []
    stop = threading.Event()

    def searcher() -> None:
        try:
            while not stop.is_set():
                assert cache.search("password", 3, query_vector=qvec)
        except BaseException as exc:  # noqa: BLE001 - surfaced to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for t in threads:
        t.start()
    for n in range(5):
        with engine.begin() as conn:
            _put(conn, table, embedder, f"extra{n}", f"Extra {n}", f"Extra article number {n}.")
        with engine.connect() as conn:
            cache.sync(conn)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) == 7 + 10
    assert np.isfinite([h.score for h in cache.search("extra article", 5)]).all()


def test_chunk_keys_survive_round_trip(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    body = "# A\n\none\n\n# B\n\ntwo"
    with engine.begin() as conn:
        upsert_source(conn, table, "page", "p1", chunk_document(body), {"visibility": "public"}, embedder, title="Page")
    cache = IndexCache(table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    hit = cache.search("two", 1)[0]
    assert (hit.chunk_key, hit.heading_path, hit.title, hit.meta) == ("b#0", "B", "Page", {"visibility": "public"})


def test_bulk_upsert_matches_single(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> None:
    docs = [
        SourceDoc("article", key, article_passages(title, body), {"lang": "en"}, title)
        for key, (title, body) in ARTICLES.items()
    ]
    with engine.begin() as conn:
        first = upsert_sources(conn, table, docs, embedder, batch_passages=3)
    with engine.begin() as conn:
        again = upsert_sources(conn, table, docs, embedder)
    assert (first.embedded, again.embedded, again.unchanged) == (7, 0, 7)
    cache = IndexCache(table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    assert _top(cache, "I forgot my password", 1) == [("password", "title")]


def test_document_vector_finds_neighbours_without_the_model(
    engine: sa.Engine, table: sa.Table, embedder: Embedder, tmp_path: Path
) -> None:
    _load_all(engine, table, embedder)
    cache = IndexCache(table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    vec = cache.document_vector("article", "refunds")
    assert vec is not None and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
    # The mean of its passages is closest to the document itself.
    assert cache.search_vector(vec, 1)[0].source_id == "refunds"
    assert cache.document_vector("article", "missing") is None
    assert cache.mean_vector({"source_type": "article"}) is not None
    assert cache.mean_vector({"source_type": "idea"}) is None
    # A saved and re-loaded cache knows its documents too; a removed document is forgotten.
    cache.save(tmp_path)
    loaded = IndexCache.load(tmp_path, table, embedder)
    assert np.allclose(loaded.document_vector("article", "refunds"), vec, atol=1e-2)
    with engine.begin() as conn:
        remove_source(conn, table, "article", "refunds")
    with engine.connect() as conn:
        cache.sync(conn)
    assert cache.document_vector("article", "refunds") is None


def test_broad_and_narrow_filters_give_the_filtered_nearest_passages(
    engine: sa.Engine, table: sa.Table, embedder: Embedder
) -> None:
    # Threads are most of the index (a filter on them is checked on the nearest hits), articles and one
    # language few (an id set is built); "zh threads" looks broad by either set alone but matches two.
    topics = ["refund", "password", "invoice", "export", "dark mode", "android", "billing", "sign in"]
    with engine.begin() as conn:
        for n in range(40):
            topic = topics[n % len(topics)]
            lang = "zh" if n in (5, 17) else "en"
            passages = chunk_document(f"A question about {topic}, number {n}.", title=f"Thread {n}", count_tokens=embedder.count_tokens)
            upsert_source(conn, table, "thread", f"t{n}", passages, {"lang": lang}, embedder, title=f"Thread {n}")
        for n in range(8):
            _put(conn, table, embedder, f"a{n}", f"Article {n}", f"How {topics[n]} works.", lang="zh")
    cache = IndexCache(table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    everything = len(cache)

    def expected(vector: np.ndarray, k: int, keep) -> list[tuple[str, str]]:
        return [(h.source_type, h.chunk_key) for h in cache.search_vector(vector, everything) if keep(h)][:k]

    cases = [
        ({"source_type": "thread"}, lambda h: h.source_type == "thread"),
        ({"source_type": {"thread", "article"}, "lang": "en"}, lambda h: h.meta.get("lang") == "en"),
        ({"source_type": "article"}, lambda h: h.source_type == "article"),
        ({"source_type": "thread", "lang": "zh"}, lambda h: h.source_type == "thread" and h.meta.get("lang") == "zh"),
        ({"source_type": "idea"}, lambda h: False),
    ]
    for topic in ("refund", "dark mode", "sign in"):
        vector = embedder.encode_query(f"help with {topic}")
        for filters, keep in cases:
            for k in (1, 5):
                got = [(h.source_type, h.chunk_key) for h in cache.search_vector(vector, k, filters)]
                assert got == expected(vector, k, keep), (topic, filters, k)
                assert [(h.source_type, h.chunk_key) for h in cache.candidates("", k, filters, query_vector=vector,
                                                                               lexical=False, spans=False)] == got
