"""Measure dense, BM25 and fusion variants on the intent sets with knowledge_index's own ranking code.

Each article is indexed as its title plus each example question (plus body chunks, empty here);
an article's score is the max over its passages, so top-1 is the article of the best passage.

    .venv/bin/python bench/fusion_eval.py [--sets hwu64 clinc150_val zh_lcqmc]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from knowledge_index.chunking import article_passages, embed_input
from knowledge_index.embedder import Embedder
from knowledge_index.lexical import LexicalIndex, top_of
from knowledge_index.search import DEFAULT_FUSION, Fusion, candidate_scores, fuse
from knowledge_index.store import VectorStore

DATA = Path("/work/shared/data")
OUT = Path(__file__).resolve().parent / "out"


def _plain(method: str, w: float = 0.1) -> Fusion:
    return Fusion(method, lexical_weight=w, cjk_method=None)


CONFIGS: list[tuple[str, Fusion | None]] = [
    ("dense only", _plain("dense")),
    ("BM25 only", None),
    ("RRF k=60", _plain("rrf")),
    ("weighted RRF, lexical 0.3", _plain("wrrf", 0.3)),
    ("weighted RRF, lexical 0.2", _plain("wrrf", 0.2)),
    ("min-max convex, lexical 0.1", _plain("minmax", 0.1)),
    ("min-max convex, lexical 0.2", _plain("minmax", 0.2)),
    ("min-max convex, lexical 0.3", _plain("minmax", 0.3)),
    ("z-score convex, lexical 0.1", _plain("zscore", 0.1)),
    ("z-score convex, lexical 0.2", _plain("zscore", 0.2)),
    ("z-score convex, lexical 0.3", _plain("zscore", 0.3)),
    ("z-score convex, lexical 0.5", _plain("zscore", 0.5)),
    ("lexical tie-break (dense + 0.01 min-max)", _plain("tiebreak")),
    ("DEFAULT: dense; z-score 0.5 if query has CJK", DEFAULT_FUSION),
]


def _load(name: str) -> tuple[list[dict], list[dict]]:
    with (DATA / name / "kb.jsonl").open(encoding="utf-8") as f:
        kb = [json.loads(line) for line in f]
    with (DATA / name / "queries.jsonl").open(encoding="utf-8") as f:
        queries = [json.loads(line) for line in f]
    return kb, [q for q in queries if q["expected"] is not None]


def _encode_cached(embedder: Embedder, key: str, texts: list[str]) -> np.ndarray:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"emb_{key}.npy"
    if path.exists():
        arr = np.load(path)
        if arr.shape == (len(texts), embedder.dim):
            return arr
    arr = embedder.encode(texts, batch_size=128, progress=True)
    np.save(path, arr)
    return arr


def evaluate(name: str, embedder: Embedder) -> dict[str, float]:
    """Accuracy@1 of every configuration on one data set."""
    kb, queries = _load(name)
    ids: list[int] = []
    owner: list[str] = []
    inputs: list[str] = []
    for art in kb:
        for p in article_passages(art["title"], art.get("body") or "", questions=art.get("questions") or []):
            ids.append(len(ids))
            owner.append(art["id"])
            inputs.append(embed_input(art["title"], p))
    vecs = _encode_cached(embedder, f"{name}_kb", inputs)
    qvecs = _encode_cached(embedder, f"{name}_queries", [q["query"] for q in queries])
    store = VectorStore(embedder.dim)
    store.add(ids, vecs)
    lex = LexicalIndex()
    lex.set_many(zip(ids, inputs, strict=True))
    owner_arr = np.array(owner, dtype=object)
    correct = {label: 0 for label, _ in CONFIGS}
    for q, qv in zip(queries, qvecs, strict=True):
        cids, dense, lexical = candidate_scores(store, lex, qv, q["query"], 50)
        for label, fusion in CONFIGS:
            if fusion is None:
                top_ids, _ = top_of(lex.scores(q["query"]), 1)
                best = owner_arr[top_ids[0]] if len(top_ids) else None
            else:
                fused = fuse(dense, lexical, fusion.for_query(q["query"]))
                best = owner_arr[cids[int(np.argmax(fused))]]
            correct[label] += int(best == q["expected"])
    return {label: correct[label] / len(queries) for label, _ in CONFIGS} | {"_n": len(queries)}


def main() -> None:
    """Print a Markdown table of accuracy@1 per set and configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=["hwu64", "clinc150_val", "zh_lcqmc"])
    args = parser.parse_args()
    embedder = Embedder()
    t0 = time.perf_counter()
    results = {name: evaluate(name, embedder) for name in args.sets}
    header = "| configuration | " + " | ".join(f"{n} (n={int(results[n]['_n'])})" for n in args.sets) + " |"
    print(header)
    print("|" + "---|" * (len(args.sets) + 1))
    for label, _ in CONFIGS:
        print(f"| {label} | " + " | ".join(f"{results[n][label]:.3f}" for n in args.sets) + " |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
