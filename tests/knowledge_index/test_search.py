"""Lexical (English and Chinese) and hybrid search with filters, spans and the vector paths."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from knowledge_index.chunking import article_passages
from knowledge_index.embedder import Embedder
from knowledge_index.lexical import LexicalIndex, tokenize
from knowledge_index.search import Fusion, fuse
from knowledge_index.sync import IndexCache, upsert_source


def test_tokenize_mixed_language() -> None:
    assert tokenize("How do I get a REFUND? 我想要退款") == ["how", "do", "get", "refund", "我", "想要", "退款"]


def test_lexical_english_and_chinese() -> None:
    lex = LexicalIndex()
    lex.set_many(
        [
            (1, "Refunds are paid within 30 days"),
            (2, "Reset your password from the sign-in page"),
            (3, "如何申请退款？退款将在七天内到账"),
            (4, "忘记密码怎么办？可以在登录页面重置密码"),
        ]
    )
    assert lex.top("refund paid", 2)[0].tolist() == [1]
    assert lex.top("我忘记了密码", 2)[0][0] == 4
    assert lex.top("退款多久到账", 1)[0].tolist() == [3]
    lex.remove(3)
    assert 3 not in lex.top("退款", 4)[0].tolist()
    assert len(lex.top("nothing matches this", 3)[0]) == 0


def test_fusions_rank_consistently() -> None:
    dense = np.array([0.9, 0.8, 0.3])
    lex = np.array([0.0, 5.0, 1.0])
    assert np.argmax(fuse(dense, lex, Fusion("dense"))) == 0
    assert np.argmax(fuse(dense, lex, Fusion("rrf"))) in (0, 1)
    for method in ("wrrf", "minmax", "zscore", "tiebreak"):
        assert np.argmax(fuse(dense, lex, Fusion(method, lexical_weight=0.1))) == 0
    with pytest.raises(ValueError):
        Fusion("magic")


@pytest.fixture
def kb(engine: sa.Engine, table: sa.Table, embedder: Embedder) -> IndexCache:
    en, staff = {"lang": "en", "visibility": "public"}, {"lang": "en", "visibility": "staff"}
    docs = [
        ("article", "refunds", "Refunds", "Money back within 30 days. Partial refunds for annual plans.", dict(en)),
        ("article", "staff-refunds", "Refund approvals", "Staff approve refunds over 500 euros. Use the admin panel.", dict(staff)),
        ("thread", "t1", "Refund never arrived", "I asked for a refund two weeks ago. Nothing yet.", dict(en)),
        ("article", "zh-refund", "退款政策", "退款将在七天内退回原支付账户。", {"lang": "zh", "visibility": "public"}),
    ]
    with engine.begin() as conn:
        for st, sid, title, body, meta in docs:
            upsert_source(conn, table, st, sid, article_passages(title, body), meta, embedder, title=title)
    cache = IndexCache(table, embedder)
    with engine.connect() as conn:
        cache.sync(conn)
    return cache


def test_hybrid_filters_and_hit_fields(kb: IndexCache, embedder: Embedder) -> None:
    q = "how long does a refund take"
    qv = embedder.encode_query(q)
    hits = kb.search(q, 10, query_vector=qv)
    assert {h.source_id for h in hits} == {"refunds", "staff-refunds", "t1", "zh-refund"}
    assert hits == sorted(hits, key=lambda h: -h.score)
    public = kb.search(q, 10, {"visibility": "public"}, query_vector=qv)
    assert "staff-refunds" not in {h.source_id for h in public}
    threads = kb.search(q, 10, {"source_type": {"thread"}}, query_vector=qv)
    assert {h.source_type for h in threads} == {"thread"}
    both = kb.search(q, 10, {"source_type": "article", "lang": "zh"}, query_vector=qv)
    assert {h.source_id for h in both} == {"zh-refund"}
    assert kb.search(q, 10, {"lang": "fr"}, query_vector=qv) == []
    body = next(h for h in hits if h.source_id == "staff-refunds" and h.chunk_key != "title")
    s, e = body.span
    assert body.text[s:e] == "Staff approve refunds over 500 euros."


def test_chinese_query_finds_chinese_passage(kb: IndexCache) -> None:
    assert kb.search("退款多久退回", 1)[0].source_id == "zh-refund"


def test_vector_paths(kb: IndexCache, embedder: Embedder) -> None:
    qv = embedder.encode_query("money back")
    dense = kb.search_vector(qv, 3)
    assert dense[0].source_id == "refunds" and dense[0].score == dense[0].dense_score
    cands = kb.candidates("money back", 5, query_vector=qv)
    assert [c.dense_score for c in cands] == sorted((c.dense_score for c in cands), reverse=True)
    assert cands[0].id == dense[0].id
    assert any(c.lexical_score > 0 for c in cands)


def test_default_fusion_switches_for_cjk_queries() -> None:
    default = Fusion()
    assert default.for_query("reset my password").method == "dense"
    assert default.for_query("怎么重置密码").method == "zscore"
    assert default.for_query("怎么重置密码").lexical_weight == 0.5
    assert Fusion("minmax", cjk_method=None).for_query("密码").method == "minmax"
