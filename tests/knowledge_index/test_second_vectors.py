"""The second (multilingual) vector: written with the first for the table's second types, kept in the cache's
second index through sync, rebuild and snapshots, and used for queries in CJK script."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from knowledge_index.chunking import article_passages
from knowledge_index.embedder import Embedder
from knowledge_index.multilingual import DIM, MODEL_NAME, MultilingualEmbedder
from knowledge_index.sync import IndexCache, reindex_all, upsert_source
from knowledge_index.table import define_entries_table

DOCS = {
    ("article", "reset"): ("重置忘记的密码", "在登录页点击“忘记密码”，输入邮箱，按邮件里的链接设置新密码。"),
    ("article", "export"): ("Export notes to Markdown", "Open the page menu, choose Export, then pick Markdown or PDF."),
    ("article", "refunds"): ("退款", "年付套餐购买后 30 天内可以申请全额退款。"),
    ("thread", "t1"): ("忘记密码了怎么办", "我忘记密码了，重置邮件一直收不到。"),
}


@pytest.fixture(scope="module")
def second() -> MultilingualEmbedder:
    return MultilingualEmbedder(threads=1)


@pytest.fixture
def table2(engine: sa.Engine) -> sa.Table:
    metadata = sa.MetaData()
    tbl = define_entries_table(metadata, f"ie_{uuid.uuid4().hex[:8]}", second_types=("article",))
    metadata.create_all(engine)
    return tbl


def _put_all(engine: sa.Engine, table: sa.Table, embedder: Embedder, second: MultilingualEmbedder | None) -> None:
    with engine.begin() as conn:
        for (kind, key), (title, body) in DOCS.items():
            upsert_source(conn, table, kind, key, article_passages(title, body), {"visibility": "public"}, embedder,
                          title=title, second_embedder=second)


def test_second_vectors_are_written_for_second_types_only(engine, table2, embedder, second) -> None:
    _put_all(engine, table2, embedder, second)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table2.c.source_type, table2.c.title, table2.c.text, table2.c.vector2,
                                      table2.c.model2, table2.c.dim2)).all()
    for r in rows:
        if r.source_type == "thread":
            assert (r.vector2, r.model2, r.dim2) == (None, None, None)
            continue
        assert (r.model2, r.dim2) == (MODEL_NAME, DIM)
        vec = np.frombuffer(r.vector2, dtype="<f4")
        assert vec.shape == (DIM,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-4


def test_a_chinese_query_ranks_by_the_second_index_and_finds_the_english_article(engine, table2, embedder, second) -> None:
    _put_all(engine, table2, embedder, second)
    cache = IndexCache(table2, embedder, second_embedder=second)
    with engine.connect() as conn:
        cache.sync(conn)
    assert len(cache.second_store) == sum(1 for h in cache.search("x", 50, {"source_type": "article"}))
    articles = {"source_type": "article"}
    assert cache.uses_second("如何把笔记导出为 Markdown？", articles)
    assert not cache.uses_second("export notes", articles) and not cache.uses_second("导出笔记", None)
    top = cache.search("如何把笔记导出为 Markdown？", 1, articles)[0]
    assert top.source_id == "export"
    assert cache.search("忘记密码怎么办", 1, articles)[0].source_id == "reset"


def test_rows_written_before_get_their_second_vector_from_reindex_all(engine, table2, embedder, second) -> None:
    # As after the migration that added the columns: vectors of the first model only.
    metadata = sa.MetaData()
    plain = define_entries_table(metadata, table2.name)
    with engine.begin() as conn:
        for (kind, key), (title, body) in DOCS.items():
            upsert_source(conn, plain, kind, key, article_passages(title, body), {}, embedder, title=title)
    cache = IndexCache(table2, embedder, second_embedder=second)
    with engine.connect() as conn:
        cache.sync(conn)
    assert len(cache.second_store) == 0
    with engine.begin() as conn:
        changed = reindex_all(conn, table2, embedder, second_embedder=second)
        missing = conn.execute(sa.select(sa.func.count()).where(table2.c.source_type == "article",
                                                                 table2.c.vector2.is_(None))).scalar()
    assert changed > 0 and missing == 0
    with engine.connect() as conn:
        cache.sync(conn)  # reindexed rows carry a new seq: caught up like any change
    assert len(cache.second_store) == changed
    with engine.begin() as conn:
        assert reindex_all(conn, table2, embedder, second_embedder=second) == 0  # idempotent


def test_second_index_survives_rebuild_snapshot_and_removal(engine, table2, embedder, second, tmp_path: Path) -> None:
    _put_all(engine, table2, embedder, second)
    cache = IndexCache(table2, embedder, second_embedder=second)
    with engine.connect() as conn:
        cache.rebuild(conn)
    size = len(cache.second_store)
    assert size > 0
    cache.save(tmp_path)
    loaded = IndexCache.load(tmp_path, table2, embedder, second_embedder=second)
    assert len(loaded.second_store) == size
    from knowledge_index.sync import remove_source

    with engine.begin() as conn:
        removed = remove_source(conn, table2, "article", "export")
    with engine.connect() as conn:
        loaded.sync(conn)
    assert len(loaded.second_store) == size - removed
    assert all(h.source_id != "export" for h in loaded.search("如何把笔记导出为 Markdown？", 5, {"source_type": "article"}))
