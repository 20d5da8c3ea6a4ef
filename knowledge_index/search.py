"""Hybrid ranking: dense candidates and BM25 candidates fused; hits carry the best-matching span."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .chunking import sentence_spans
from .lexical import LexicalIndex, tokenize, top_of
from .multilingual import has_cjk

if TYPE_CHECKING:  # best_span and fuse need no FAISS
    from .store import VectorStore

FUSION_METHODS = ("dense", "rrf", "wrrf", "minmax", "zscore", "tiebreak")


@dataclass(frozen=True)
class Fusion:
    """How dense and lexical scores combine; see bench/RESULTS.md for the measured choice.

    cjk_method/cjk_lexical_weight apply instead when the query contains CJK script, which
    all-MiniLM-L6-v2 (trained on English) embeds poorly while jieba + BM25 handles it well.
    """

    method: str = "dense"
    lexical_weight: float = 0.1
    rrf_k: int = 60
    cjk_method: str | None = "zscore"
    cjk_lexical_weight: float = 0.5

    def __post_init__(self) -> None:
        for m in (self.method, self.cjk_method or "dense"):
            if m not in FUSION_METHODS:
                raise ValueError(f"unknown fusion {m!r}; choose one of {FUSION_METHODS}")

    def for_query(self, query: str | None) -> Fusion:
        """The fusion to use for this query (the CJK variant when the query has CJK script)."""
        if query and self.cjk_method and has_cjk(query):
            return Fusion(self.cjk_method, self.cjk_lexical_weight, self.rrf_k, None)
        return self


# Measured on hwu64, clinc150_val and zh_lcqmc (bench/fusion_eval.py): no fusion beat dense on
# both English sets, while on Chinese queries the English model is far behind BM25, so
# lexical gets an equal (z-scored) say there.
DEFAULT_FUSION = Fusion()
# For the multilingual model (knowledge_index.multilingual), which reads Chinese: BM25 only breaks near-ties.
# LCQMC, weight chosen on four folds and scored on the fifth: 0.1 on almost every fold, 0.750 -> 0.758
# (bench/RESULTS.md, Session 6); 0.5 (right for MiniLM) gave 0.751.
SECOND_FUSION = Fusion("zscore", 0.1, cjk_method="zscore", cjk_lexical_weight=0.1)


@dataclass(frozen=True)
class Hit:
    """One ranked passage."""

    id: int
    source_type: str
    source_id: str
    chunk_key: str
    title: str
    heading_path: str
    text: str
    meta: Mapping[str, Any]
    score: float
    dense_score: float
    lexical_score: float
    span: tuple[int, int] = field(default=(0, 0))  # best-matching sentence, offsets into text


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(-x, kind="stable")
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.arange(1, len(x) + 1)
    return ranks


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi - lo < 1e-12 else (x - lo) / (hi - lo)


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return np.zeros_like(x) if sd < 1e-12 else (x - x.mean()) / sd


def fuse(dense: np.ndarray, lexical: np.ndarray, fusion: Fusion = DEFAULT_FUSION) -> np.ndarray:
    """Fused scores of candidates given their dense (cosine) and BM25 scores."""
    d = np.asarray(dense, np.float64)
    lex = np.asarray(lexical, np.float64)
    w = fusion.lexical_weight
    if fusion.method == "dense" or not len(d):
        return d
    if fusion.method == "rrf":
        return 1.0 / (fusion.rrf_k + _ranks(d)) + 1.0 / (fusion.rrf_k + _ranks(lex))
    if fusion.method == "wrrf":
        return (1 - w) / (fusion.rrf_k + _ranks(d)) + w / (fusion.rrf_k + _ranks(lex))
    if fusion.method == "minmax":
        return (1 - w) * _minmax(d) + w * _minmax(lex)
    if fusion.method == "zscore":
        return (1 - w) * _z(d) + w * _z(lex)
    # "tiebreak": lexical only reorders passages whose cosines are within ~0.01.
    return d + 0.01 * _minmax(lex)


def candidate_scores(
    store: VectorStore,
    lexical: LexicalIndex | None,
    qvec: np.ndarray,
    query: str | None,
    n: int,
    allowed: np.ndarray | None = None,
    use_lexical: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, dense scores, lexical scores) of the union of dense top-n and BM25 top-n."""
    d, i = store.search(qvec.reshape(1, -1), n, allowed=allowed)
    keep = i[0] >= 0
    dense_ids, dense_sc = i[0][keep], d[0][keep]
    if lexical is None or query is None or not use_lexical:
        return dense_ids, dense_sc, np.zeros(len(dense_ids), np.float32)
    full = lexical.scores(query)
    lex_ids, _ = top_of(full, n, allowed)
    extra = np.setdiff1d(lex_ids, dense_ids, assume_unique=False)
    # Passages only BM25 found need a dense score too; stored vectors give it exactly (flat) or nearly (SQ8).
    extra = extra[[e in store for e in extra.tolist()]] if len(extra) else extra
    ids = np.concatenate([dense_ids, extra])
    dense_all = np.concatenate([dense_sc, store.vectors(extra) @ qvec.astype(np.float32) if len(extra) else np.zeros(0, np.float32)])
    return ids, dense_all.astype(np.float32), lexical.scores_for(full, ids)


def rank(
    store: VectorStore,
    lexical: LexicalIndex | None,
    qvec: np.ndarray,
    query: str | None,
    k: int,
    fusion: Fusion = DEFAULT_FUSION,
    allowed: np.ndarray | None = None,
    depth: int = 50,
) -> list[tuple[int, float, float, float]]:
    """Top-k (id, fused, dense, lexical) after fusing over max(depth, 3k) candidates per list."""
    n = max(depth, 3 * k)
    fusion = fusion.for_query(query)
    ids, dense, lex = candidate_scores(store, lexical, qvec, query, n, allowed, fusion.method != "dense")
    if not len(ids):
        return []
    fused = fuse(dense, lex, fusion)
    order = np.argsort(-fused, kind="stable")[:k]
    return [(int(ids[j]), float(fused[j]), float(dense[j]), float(lex[j])) for j in order]


@functools.lru_cache(maxsize=8192)
def _sentence_tokens(sentence: str) -> tuple[str, ...]:
    # The same passages are quoted again and again; segmenting a Chinese one with jieba took ms.
    return tuple(tokenize(sentence))


def best_span(query: str, text: str) -> tuple[int, int]:
    """Offsets of the sentence of text sharing the most query words (first sentence if none)."""
    spans = sentence_spans(text)
    if not spans:
        return (0, len(text))
    qtok = set(tokenize(query))
    best, best_score = spans[0], 0.0
    if qtok:
        for s, e in spans:
            toks = _sentence_tokens(text[s:e])
            if not toks:
                continue
            overlap = len(qtok.intersection(toks))
            # Prefer dense overlap: a long sentence matching once should not beat a short exact one.
            score = overlap + overlap / len(toks)
            if score > best_score:
                best, best_score = (s, e), score
    return best
