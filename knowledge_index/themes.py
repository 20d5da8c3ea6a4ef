"""Theme discovery over stored vectors: clustering with no k to give, matching runs, keyword labels.

Pure numpy / FAISS / scipy: it knows vectors, ids and texts, not threads or ideas.

The clustering is Ward's minimum-variance linkage cut at one distance (``WARD_THRESHOLD``), so the
number of themes comes from the data; then a few k-means (Lloyd) steps from the Ward centroids
tidy the borders. Up to ``MAX_NODES`` items are clustered exactly; beyond that FAISS k-means first
groups the items into ``MICRO_NODES`` weighted micro-clusters and Ward runs on those (Ward needs only
each group's centroid and size, so this is the same criterion on a coarser start).
Measured on labelled sets in bench/RESULTS.md (V-measure, stability, speed).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Ward merge distance sqrt(2·na·nb/(na+nb))·|ca−cb| on unit vectors, chosen on the development
# sets (qatar_living, hwu64_messages; bench/RESULTS.md) and the one fitted constant of the method.
WARD_THRESHOLD = 2.0
# Items clustered one by one up to this many; beyond it Ward sees MICRO_NODES k-means groups whose
# weights add up to MAX_NODES, so the number of themes levels off instead of growing with the data.
MAX_NODES = 2000
MICRO_NODES = 500
# Below SMALL_SET items the cut is lowered slowly ((n / SMALL_SET) ** 0.1: 26 items cut at 1.39),
# because Ward's merge cost grows with group sizes and a few dozen short texts would otherwise
# all merge into one theme; at the development sets' size (about 1,000) it is the plain threshold.
SMALL_SET = 1000
SMALL_SET_EXPONENT = 0.1
REFINE_STEPS = 5
SEED = 0


@dataclass(frozen=True)
class Clustering:
    """labels[i] is item i's cluster (0..k-1, largest first); centroids are unit vectors."""

    labels: np.ndarray
    centroids: np.ndarray

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    out: np.ndarray = x / np.maximum(norms, 1e-12)
    return out


def ward_cut(centroids: np.ndarray, sizes: np.ndarray, threshold: float, keep_apart: int = 0) -> np.ndarray:
    """Ward clustering of weighted points cut at threshold; returns each point's group (nearest-neighbour chain).

    keep_apart: the first keep_apart points (previous themes) never merge with each other.
    """
    c = np.asarray(centroids, dtype=np.float32).copy()
    w = np.asarray(sizes, dtype=np.float64).copy()
    m = c.shape[0]
    sq = np.einsum("ij,ij->i", c, c)
    active = np.ones(m, dtype=bool)
    pinned = np.arange(m) < keep_apart
    parent = np.arange(m)
    limit = threshold * threshold
    chain: list[int] = []
    remaining = m

    def costs(a: int) -> np.ndarray:
        d2 = np.maximum(sq + sq[a] - 2.0 * (c @ c[a]), 0.0)
        cost: np.ndarray = 2.0 * w[a] * w / (w[a] + w) * d2
        cost[~active] = np.inf
        cost[a] = np.inf
        if pinned[a]:
            # An infinite distance keeps Ward reducible, so the chain stays exact.
            cost[pinned] = np.inf
        return cost

    while remaining > 1:
        if not chain:
            chain.append(int(np.argmax(active)))
        a = chain[-1]
        cost = costs(a)
        b = int(np.argmin(cost))
        if not math.isfinite(cost[b]):
            active[a] = False
            remaining -= 1
            chain.pop()
            continue
        # Prefer the previous link on ties, or the chain could cycle.
        if len(chain) > 1 and cost[chain[-2]] <= cost[b]:
            b = chain[-2]
        if len(chain) == 1 or b != chain[-2]:
            chain.append(b)
            continue
        chain.pop()
        chain.pop()
        if cost[b] > limit:
            # Reciprocal nearest neighbours farther apart than the cut: Ward is reducible, so
            # neither can ever come closer to anything else; both are finished clusters.
            active[a] = active[b] = False
            remaining -= 2
            continue
        total = w[a] + w[b]
        c[a] = (w[a] * c[a] + w[b] * c[b]) / total
        w[a] = total
        pinned[a] = pinned[a] or pinned[b]
        sq[a] = float(c[a] @ c[a])
        active[b] = False
        parent[b] = a
        remaining -= 1
    groups = np.empty(m, dtype=np.int64)
    for i in range(m):
        root = i
        while parent[root] != root:
            root = parent[root]
        groups[i] = root
    return groups


def _relabel(groups: np.ndarray) -> np.ndarray:
    """Dense labels 0..k-1, largest group first (ties by first appearance, so runs are repeatable)."""
    uniq, first, counts = np.unique(groups, return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda j: (-counts[j], first[j]))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[np.searchsorted(uniq, groups)]


def _sums(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    from scipy import sparse

    onehot = sparse.csr_matrix((np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    out: np.ndarray = np.asarray(onehot @ x, dtype=np.float64)
    return out


def _centroids(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return normalize(_sums(x, labels, k))


def _micro_clusters(x: np.ndarray, m: int, seed: int) -> np.ndarray:
    import faiss

    from knowledge_index.store import build_threads

    # Trained on a sample (32 points a centroid is plenty to place it), then every item assigned.
    km = faiss.Kmeans(x.shape[1], m, niter=8, seed=seed, spherical=True, max_points_per_centroid=32)
    with build_threads():  # batch work: all cores, for this thread only
        km.train(np.ascontiguousarray(x, dtype=np.float32))
        _, assign = km.index.search(np.ascontiguousarray(x, dtype=np.float32), 1)
    return assign[:, 0].astype(np.int64)


def cluster(
    vectors: np.ndarray,
    *,
    previous: np.ndarray | None = None,
    threshold: float = WARD_THRESHOLD,
    max_nodes: int = MAX_NODES,
    refine_steps: int = REFINE_STEPS,
    seed: int = SEED,
) -> Clustering:
    """Group vectors into themes; the number of themes comes from the data (Ward cut at threshold).

    previous: each item's theme in the previous run (0..p-1) or -1 for an item new since then. Each
    previous theme then starts as one weighted node, so a re-run moves only what the new items and
    the refinement move (themes keep their identity; see ``inherited``).
    """
    x = normalize(vectors)
    n = x.shape[0]
    dim = x.shape[1] if x.ndim == 2 else 0
    if n == 0:
        return Clustering(np.zeros(0, dtype=np.int64), np.zeros((0, dim), np.float32))
    nodes = np.full(n, -1, dtype=np.int64)
    offset = 0
    if previous is not None:
        prev = np.asarray(previous, dtype=np.int64)
        if prev.shape != (n,):
            raise ValueError("previous must give one theme (or -1) per item")
        known = prev >= 0
        if known.any():
            nodes[known] = _relabel(prev[known])
            offset = int(nodes.max()) + 1
    fresh = np.flatnonzero(nodes < 0)
    if offset + len(fresh) > max_nodes:
        nodes[fresh] = offset + _relabel(_micro_clusters(x[fresh], min(MICRO_NODES, len(fresh)), seed))
    else:
        nodes[fresh] = offset + np.arange(len(fresh))
    m = int(nodes.max()) + 1
    sizes = np.bincount(nodes, minlength=m).astype(np.float64)
    means = _sums(x, nodes, m) / np.maximum(sizes, 1.0)[:, None]
    weights = sizes * min(1.0, max_nodes / n)
    cut = threshold * min(1.0, n / SMALL_SET) ** SMALL_SET_EXPONENT
    groups = ward_cut(means, weights, cut, keep_apart=offset) if m > 1 else np.zeros(1, dtype=np.int64)
    labels = _relabel(groups[nodes])
    k = int(labels.max()) + 1
    cent = _centroids(x, labels, k)
    for _ in range(refine_steps):
        new = np.argmax(x @ cent.T, axis=1)
        # A theme the refinement would empty keeps its Ward members (k stays what the cut found).
        if (np.bincount(new, minlength=k) == 0).any() or np.array_equal(new, labels):
            break
        labels = new
        cent = _centroids(x, labels, k)
    order = _relabel(labels)
    remap = np.empty(k, dtype=np.int64)
    remap[labels] = order
    return Clustering(order, cent[np.argsort(remap)])


def inherited(previous: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Which previous theme each new theme continues: pairs with the most shared items first, one to one."""
    prev = np.asarray(previous, dtype=np.int64)
    lab = np.asarray(labels, dtype=np.int64)
    mask = prev >= 0
    pairs = Counter(zip(lab[mask].tolist(), prev[mask].tolist(), strict=True))
    out: dict[int, int] = {}
    taken: set[int] = set()
    for (new, old), _count in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):
        if new not in out and old not in taken:
            out[new] = old
            taken.add(old)
    return out


def keywords(texts: Sequence[str], labels: Sequence[int] | np.ndarray, k: int, top: int = 4) -> list[list[str]]:
    """Each theme's most distinctive words by class-based TF-IDF (word tokens; jieba for Chinese)."""
    from .lexical import tokenize

    counts: list[Counter[str]] = [Counter() for _ in range(k)]
    for text, label in zip(texts, labels, strict=True):
        # Words that are not letters or ideographs (numbers, ids) make poor labels.
        counts[int(label)].update(t for t in tokenize(text)
                                  if len(t) > 1 and t not in _LABEL_STOP and _WORDY.search(t))
    total = Counter[str]()
    for c in counts:
        total.update(c)
    mean_words = sum(sum(c.values()) for c in counts) / max(k, 1)
    out: list[list[str]] = []
    for c in counts:
        size = sum(c.values()) or 1
        # c-TF-IDF (Grootendorst 2022): term frequency in the theme x log(1 + mean words per theme / term frequency overall).
        scored = sorted(c, key=lambda t: (-(c[t] / size) * math.log(1 + mean_words / total[t]), t))
        out.append(scored[:top])
    return out


_WORDY = re.compile(r"[^\W\d_]", re.UNICODE)
# Words that say nothing about a topic however unevenly they fall (questions, auxiliaries, fillers).
_LABEL_STOP = frozenset(
    [
        "about", "after", "again", "all", "also", "am", "any", "anyone", "anything", "can", "cannot", "could",
        "did", "do", "does", "doing", "done", "dont", "don't", "each", "even", "ever", "get", "gets", "getting",
        "got", "had", "has", "having", "he", "her", "here", "him", "his", "how", "however", "im", "i'm", "just",
        "know", "like", "make", "many", "may", "me", "might", "more", "most", "much", "must", "need", "no",
        "not", "now", "off", "only", "other", "please", "really", "same", "see", "she", "should", "since",
        "some", "still", "such", "than", "thank", "thanks", "there's", "thing", "things", "think", "those",
        "through", "too", "under", "up", "us", "use", "used", "using", "very", "want", "way", "what", "when",
        "where", "which", "while", "who", "why", "would", "yes", "yet", "you're",
        # The same in Chinese (jieba tokens): question words, pronouns, auxiliaries, fillers.
        "怎么", "怎么办", "怎样", "如何", "什么", "为什么", "为啥", "可以", "可不可以", "能否", "能不能", "是否",
        "请问", "谢谢", "一下", "一个", "这个", "那个", "这样", "我们", "你们", "他们", "大家", "自己", "已经",
        "现在", "时候", "还是", "但是", "因为", "所以", "如果", "就是", "还有", "需要", "希望", "有没有", "问题",
    ]
)
