"""knowledge_index benchmark at 10k, 100k and 1M passages on real text (prints figures; not a test).

Real passages: forum posts (chunked) and intent-set questions, embedded by the real model.
Beyond that, passages are mixtures of two real embeddings plus small noise, carrying the text of
the first so BM25 sees a realistic vocabulary. Queries: real HWU64/CLINC150 queries.

    PYTHONPATH=. nohup .venv/bin/python bench/index_bench.py > bench/out/index_bench.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import sqlalchemy as sa

from knowledge_index.chunking import article_passages, chunk_document, embed_input
from knowledge_index.embedder import Embedder
from knowledge_index.importers import guess_format
from knowledge_index.lexical import LexicalIndex, tokenize
from knowledge_index.search import DEFAULT_FUSION, Fusion, rank
from knowledge_index.store import VectorStore
from knowledge_index.sync import IndexCache, SourceDoc, define_entries_table, upsert_sources

DATA = Path("/work/shared/data")
OUT = Path(__file__).resolve().parent / "out"


def log(msg: str) -> None:
    """Timestamped progress line."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rss_mb() -> float:
    """Current resident set size in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def real_documents() -> list[tuple[str, str, str, str]]:
    """(source_id, title, body, format) for forum posts and intent articles."""
    docs = []
    for name in ("coffee_stackexchange", "qatar_living"):
        with (DATA / "forum" / f"{name}.jsonl").open(encoding="utf-8") as f:
            for line in f:
                t = json.loads(line)
                docs.append((t["id"], t["title"], t["body"], guess_format(t["body"])))
                for r in t["replies"]:
                    docs.append((r["id"], t["title"], r["body"], guess_format(r["body"])))
    return docs


def real_passages(embedder: Embedder) -> list[str]:
    """Embedding inputs of every real passage."""
    texts = []
    for _, title, body, fmt in real_documents():
        for p in chunk_document(body, fmt, title=title, count_tokens=embedder.count_tokens):
            texts.append(embed_input(title, p))
    for name in ("hwu64", "clinc150_val"):
        with (DATA / name / "kb.jsonl").open(encoding="utf-8") as f:
            for line in f:
                a = json.loads(line)
                texts.extend(embed_input(a["title"], p) for p in article_passages(a["title"], "", questions=a["questions"]))
    return texts


def queries() -> list[str]:
    """Real user queries (in-scope and out-of-scope) from the intent sets."""
    qs = []
    for name in ("hwu64", "clinc150_val"):
        with (DATA / name / "queries.jsonl").open(encoding="utf-8") as f:
            qs.extend(json.loads(line)["query"] for line in f)
    random.Random(7).shuffle(qs)
    return qs


def derived(real: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n vectors mixing two real embeddings plus noise, and the index of the real one each resembles."""
    a = rng.integers(0, len(real), n)
    b = rng.integers(0, len(real), n)
    w = rng.uniform(0.55, 0.95, n).astype(np.float32)[:, None]
    x = w * real[a] + (1 - w) * real[b] + rng.normal(0, 0.02, (n, real.shape[1])).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), a


def exact_top(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Exact inner-product top-k row indices (chunked to bound memory)."""
    best_s = np.full((len(q), k), -np.inf, np.float32)
    best_i = np.zeros((len(q), k), np.int64)
    for start in range(0, len(x), 200_000):
        s = q @ x[start : start + 200_000].T
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, idx, 1)], 1)
        cand_i = np.concatenate([best_i, idx + start], 1)
        o = np.argsort(-cand_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, o, 1), np.take_along_axis(cand_i, o, 1)
    return best_i


def bench_import(embedder: Embedder, n_docs: int) -> dict[str, float]:
    """Bulk import (chunk + embed + DB write + cache sync) vs bare model batch encode, same passages."""
    docs = real_documents()[:n_docs]
    inputs = [
        embed_input(title, p)
        for _, title, body, fmt in docs
        for p in chunk_document(body, fmt, title=title, count_tokens=embedder.count_tokens)
    ]
    t0 = time.perf_counter()
    embedder._model.encode(inputs, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    bare = len(inputs) / (time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        eng = sa.create_engine(f"sqlite:///{tmp}/bench.sqlite")
        md = sa.MetaData()
        table = define_entries_table(md)
        md.create_all(eng)
        t0 = time.perf_counter()
        # What an import command runs: parse/chunk, embed in shared batches, write rows, then sync.
        with eng.begin() as conn:
            upsert_sources(
                conn,
                table,
                (
                    SourceDoc("thread", sid, chunk_document(body, fmt, title=title, count_tokens=embedder.count_tokens), {"lang": "en"}, title)
                    for sid, title, body, fmt in docs
                ),
                embedder,
            )
        cache = IndexCache(table, embedder)
        with eng.connect() as conn:
            cache.sync(conn)
        pipeline = len(inputs) / (time.perf_counter() - t0)
        eng.dispose()
    return {"passages": len(inputs), "bare_per_s": bare, "pipeline_per_s": pipeline, "ratio": pipeline / bare}


def main() -> None:
    """Run every measurement and write bench/out/index_bench.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--real-limit", type=int, default=0, help="smoke runs: use only this many real passages")
    parser.add_argument("--import-docs", type=int, default=1500, help="0 skips the import measurement")
    parser.add_argument("--default-ef", type=int, default=0, help="efSearch for the latency figures (0: library default)")
    parser.add_argument("--ef", nargs="+", type=int, default=[64, 128, 256], help="efSearch values to sweep")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"cpus": os.cpu_count()}
    import torch

    embedder = Embedder(threads=2)
    store_kwargs = {"ef_search": args.default_ef} if args.default_ef else {}
    log("model loaded")

    texts = real_passages(embedder)
    if args.real_limit:
        texts = texts[: args.real_limit]
    cache_path = OUT / f"bench_real_vectors_{len(texts)}.npy"
    if cache_path.exists() and np.load(cache_path, mmap_mode="r").shape[0] == len(texts):
        real = np.load(cache_path)
    else:
        t0 = time.perf_counter()
        real = embedder.encode(texts, batch_size=64, progress=False)
        log(f"encoded {len(texts)} real passages in {time.perf_counter() - t0:.0f} s")
        np.save(cache_path, real)
    log(f"{len(real)} real passages")
    results["real_passages"] = len(real)

    if args.import_docs:
        imp = bench_import(embedder, args.import_docs)
        log(f"import: {imp}")
        results["import"] = imp

    qtexts = queries()[: args.queries]
    torch.set_num_threads(1)  # queries: one thread per worker process (see embedder.default_threads)
    for q in qtexts[:20]:
        embedder.encode_query(q)
    enc_t, qvecs = [], []
    for q in qtexts:
        t0 = time.perf_counter()
        qvecs.append(embedder.encode_query(q))
        enc_t.append(time.perf_counter() - t0)
    qv = np.vstack(qvecs)
    results["encode_ms"] = {"p50": 1e3 * np.percentile(enc_t, 50), "p95": 1e3 * np.percentile(enc_t, 95)}
    log(f"single-query encode ms: {results['encode_ms']}")

    rng = np.random.default_rng(0)
    for size in args.sizes:
        r: dict[str, float | str] = {}
        if size <= len(real):
            x, src = real[:size], np.arange(size)
        else:
            extra, src_extra = derived(real, size - len(real), rng)
            x, src = np.concatenate([real, extra]), np.concatenate([np.arange(len(real)), src_extra])
        ids = np.arange(1, size + 1, dtype=np.int64)
        rss0 = rss_mb()
        store = VectorStore(x.shape[1], **store_kwargs)
        t0 = time.perf_counter()
        store.build(ids, x)
        r["kind"] = store.kind
        r["build_s"] = time.perf_counter() - t0
        r["index_mb"] = (rss_mb() - rss0)
        r["index_estimate_mb"] = store.memory_bytes() / 2**20
        log(f"{size}: built {store.kind} in {r['build_s']:.1f} s, +{r['index_mb']:.0f} MB RSS")

        lex = LexicalIndex()
        rss1 = rss_mb()
        real_tokens = [tuple(tokenize(t)) for t in texts]
        lex._tokens = {int(i): real_tokens[int(s)] for i, s in zip(ids, src, strict=True)}
        lex._dirty = True
        t0 = time.perf_counter()
        lex._ensure_built()
        r["bm25_build_s"] = time.perf_counter() - t0
        r["bm25_mb"] = rss_mb() - rss1
        log(f"{size}: BM25 built in {r['bm25_build_s']:.1f} s, +{r['bm25_mb']:.0f} MB RSS")

        faiss_threads = __import__("faiss").omp_get_max_threads()
        __import__("faiss").omp_set_num_threads(1)  # one query at a time per worker
        exact = exact_top(x, qv, 10) + 1
        _, got = store.search(qv, 10)
        r["recall@10"] = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, got, strict=True)]))
        if store.kind != "flat":
            # Ceiling set by SQ8 codes alone: exhaustive search over the same quantized vectors.
            sq = faiss.IndexScalarQuantizer(x.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
            sq.train(x[:200_000])
            sq.add(x)
            _, got = sq.search(qv, 10)
            r["recall@10_sq8_exhaustive"] = float(np.mean([len(set(a) & set(b + 1)) / 10 for a, b in zip(exact, got, strict=True)]))
            log(f"{size}: SQ8 exhaustive recall@10 {r['recall@10_sq8_exhaustive']:.3f}")
            del sq
            for ef in args.ef:
                t0 = time.perf_counter()
                _, got = store.search(qv, 10, ef_search=ef)
                search_ms = 1e3 * (time.perf_counter() - t0) / len(qv)
                rec = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, got, strict=True)]))
                r[f"recall@10_ef{ef}"] = rec
                r[f"search_ms_ef{ef}"] = search_ms
                log(f"{size}: efSearch {ef}: recall@10 {rec:.3f}, {search_ms:.2f} ms/query (search only)")
        lat, dense_lat, lex_lat = [], [], []
        with_bm25 = Fusion("zscore", lexical_weight=0.5, cjk_method=None)
        for q, v, enc in zip(qtexts, qv, enc_t, strict=True):
            t0 = time.perf_counter()
            rank(store, lex, v, q, 10, with_bm25)
            lex_lat.append(time.perf_counter() - t0 + enc)
            t0 = time.perf_counter()
            store.search(v.reshape(1, -1), 10)
            dense_lat.append(time.perf_counter() - t0 + enc)
            t0 = time.perf_counter()
            rank(store, lex, v, q, 10, DEFAULT_FUSION)
            lat.append(time.perf_counter() - t0 + enc)
        __import__("faiss").omp_set_num_threads(faiss_threads)
        r["query_ms_p50"] = 1e3 * float(np.percentile(lat, 50))
        r["query_ms_p95"] = 1e3 * float(np.percentile(lat, 95))
        r["bm25_fusion_query_ms_p50"] = 1e3 * float(np.percentile(lex_lat, 50))
        r["bm25_fusion_query_ms_p95"] = 1e3 * float(np.percentile(lex_lat, 95))
        log(f"{size}: encode + dense + BM25 + z-score fusion p50/p95 {r['bm25_fusion_query_ms_p50']:.1f}/{r['bm25_fusion_query_ms_p95']:.1f} ms")
        r["dense_query_ms_p50"] = 1e3 * float(np.percentile(dense_lat, 50))
        r["dense_query_ms_p95"] = 1e3 * float(np.percentile(dense_lat, 95))
        log(f"{size}: recall@10 {r['recall@10']:.3f}, hybrid p50/p95 {r['query_ms_p50']:.1f}/{r['query_ms_p95']:.1f} ms, dense {r['dense_query_ms_p50']:.1f}/{r['dense_query_ms_p95']:.1f} ms")

        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            t0 = time.perf_counter()
            store.save(tmp)
            r["save_s"] = time.perf_counter() - t0
            del store
            rss_before = rss_mb()
            t0 = time.perf_counter()
            loaded = VectorStore.load(tmp)
            r["load_s"] = time.perf_counter() - t0
            r["loaded_rss_mb"] = rss_mb() - rss_before
            r["disk_mb"] = sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20
            del loaded
        log(f"{size}: saved in {r['save_s']:.1f} s, loaded in {r['load_s']:.2f} s (+{r['loaded_rss_mb']:.0f} MB RSS), {r['disk_mb']:.0f} MB on disk")
        results[str(size)] = r
        del lex, x
        (OUT / "index_bench.json").write_text(json.dumps(results, indent=2, default=float))
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    (OUT / "index_bench.json").write_text(json.dumps(results, indent=2, default=float))
    log(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
