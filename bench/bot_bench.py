"""Server-side reply time of the support bot: on the demo help center, then with 100k indexed passages.

    .venv/bin/python bench/bot_bench.py [--passages 100000] [--queries 400]

Reply time is what `answer()` takes in the server (encode + retrieval + scoring + building the
reply), measured per query; then the whole chat service call (`chat.send_message`: the engine, the
feature-request check against ideas, storing both messages, recording a gap on abstain, commit). The large index adds real forum text from ../shared/data/forum
(embedded for real) and, beyond that, vectors derived from those real embeddings (mixtures of
two real vectors plus small noise, renormalised) — not uniform random vectors. A tenth of the
added passages (--answer-share) are accepted community answers the bot may cite, the rest forum
threads. The embedding backend (ONNX when built, else PyTorch) is printed first.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q * 100)) if values else 0.0


def forum_texts(limit: int) -> list[str]:
    texts: list[str] = []
    for name in ("coffee_stackexchange.jsonl", "qatar_living.jsonl"):
        path = DATA / "forum" / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            thread = json.loads(line)
            texts.append(f"{thread['title']}. {thread['body']}"[:600])
            texts.extend(r["body"][:600] for r in thread.get("replies", []) if r.get("body"))
    return texts[:limit]


def queries(n: int) -> list[str]:
    seed = [json.loads(line) for line in (ROOT / "community" / "seed_data" / "articles.jsonl").read_text().splitlines() if line.strip()]
    asked = [q for a in seed for q in a["questions"]]
    unrelated = []
    hwu = DATA / "hwu64" / "queries.jsonl"
    if hwu.exists():
        unrelated = [json.loads(line)["query"] for line in hwu.read_text().splitlines()[:200]]
    mixed = asked + unrelated
    rng = np.random.default_rng(0)
    return [mixed[i] for i in rng.permutation(len(mixed))[:n]]


def measure(answer, qs: list[str]) -> dict[str, float]:
    """answer() per query, and the bare query encode interleaved with it (same load, same moment): the
    ratio of their p95s is the figure that survives a busy machine."""
    from knowledge_index.embedder import get_embedder

    from bot.knowledge import knowledge

    encoder = get_embedder()
    answer("warm up the caches")
    # The steady state: the first question starts the model's fit in the background, and that thread's
    # work would otherwise land in the first answers' times.
    knowledge().wait_until_fitted()
    times, encodes, kinds = [], [], {"answer": 0, "clarify": 0, "abstain": 0}
    for q in qs:
        t0 = time.perf_counter()
        encoder.encode_query(q)
        encodes.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        reply = answer(q)
        times.append((time.perf_counter() - t0) * 1000)
        kinds[reply.kind] += 1
    return {"p50_ms": round(pct(times, 0.5), 2), "p95_ms": round(pct(times, 0.95), 2),
            "max_ms": round(max(times), 2), "encode_p50_ms": round(pct(encodes, 0.5), 2),
            "encode_p95_ms": round(pct(encodes, 0.95), 2),
            "p95_ratio": round(pct(times, 0.95) / max(pct(encodes, 0.95), 1e-9), 3), **kinds}


def measure_chat(app, qs: list[str]) -> dict[str, float]:
    """The chat service end to end in the server: engine, ideas check, storing both messages, gap, commit."""
    from bot import chat
    from community.extensions import db

    app.config["COKNOW_CHAT_RATE_PER_MINUTE"] = 10**9
    times = []
    with app.test_request_context("/chat/"):
        chat.send_message(None, "bench-warm", "warm up the caches")
        db.session.commit()
        from bot.knowledge import knowledge

        knowledge().wait_until_fitted()  # the steady state: the first question's background fit has landed
        for i, q in enumerate(qs):
            t0 = time.perf_counter()
            chat.send_message(None, f"bench-{i}", q)  # a new visitor each time: no follow-up context
            db.session.commit()
            times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(pct(times, 0.5), 2), "p95_ms": round(pct(times, 0.95), 2), "max_ms": round(max(times), 2)}


def add_passages(total: int, real_count: int, rng: np.random.Generator, answer_share: float) -> dict[str, float]:
    """Insert `total` passages straight into the index table (one transaction)."""
    import sqlalchemy as sa

    from community.extensions import db
    from community.models import index_entries
    from knowledge_index.embedder import get_embedder

    emb = get_embedder()
    real = forum_texts(min(total, real_count))
    t0 = time.perf_counter()
    base = emb.encode(real, batch_size=64)
    encode_s = time.perf_counter() - t0
    rows = []
    seq0 = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(index_entries.c.seq), 0)))
    for n in range(total):
        if n < len(real):
            vec, text = base[n], real[n]
        else:
            i, j = rng.integers(0, len(real), 2)
            w = rng.uniform(0.55, 0.85)
            vec = w * base[i] + (1 - w) * base[j] + rng.normal(0, 0.02, base.shape[1])
            vec = (vec / np.linalg.norm(vec)).astype(np.float32)
            text = real[i]
        answer_like = rng.random() < answer_share
        rows.append({
            "source_type": "answer" if answer_like else "thread",
            "source_id": f"bench-{n // 3}",  # about three passages per document
            "chunk_key": f"c{n % 3}-{n}", "chunk_no": n % 3, "kind": "body", "title": text[:80],
            "heading_path": "", "text": text, "meta": {"visibility": "public", "url": "/forum/"},
            "vector": np.asarray(vec, "<f4").tobytes(), "model": emb.model_name, "dim": emb.dim,
            "content_hash": "", "seq": seq0 + n + 1, "deleted": False,
        })
    t1 = time.perf_counter()
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(index_entries), rows[start:start + 5000])
    db.session.commit()
    return {"real_encoded": len(real), "encode_s": round(encode_s, 1), "insert_s": round(time.perf_counter() - t1, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--real", type=int, default=3000, help="real forum passages to embed before deriving the rest")
    parser.add_argument("--answer-share", type=float, default=0.1,
                        help="share of added passages that are accepted answers the bot may cite")
    args = parser.parse_args()
    from flask_migrate import upgrade

    from community import create_app
    from community.extensions import db

    qs = queries(args.queries)
    with tempfile.TemporaryDirectory(prefix="coknow-bench-") as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "COKNOW_INSTANCE_DIR": tmp,
                          "COKNOW_INDEX_DIR": f"{tmp}/index"})
        with app.app_context():
            upgrade(revision="heads")
            from bot.engine import answer, bot_settings
            from bot.knowledge import knowledge
            from community import search
            from community.seed import seed_demo

            seed_demo()
            db.session.commit()
            cache = search.get_cache()
            from knowledge_index.embedder import get_embedder

            print(f"embedding backend: {get_embedder().backend}")
            print(f"demo help center: {len(cache)} passages")
            print("  demo answer():", json.dumps(measure(answer, qs)))
            print("  demo chat.send_message():", json.dumps(measure_chat(app, qs)))
            if args.passages <= len(cache):
                return
            info = add_passages(args.passages, args.real, np.random.default_rng(1), args.answer_share)
            t0 = time.perf_counter()
            search.get_cache(sync=False)
            search._state().catch_up(force=True)
            sync_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            knowledge().current(bot_settings())
            knowledge().wait_until_fitted()
            fit_s = time.perf_counter() - t0
            print(f"with {len(cache)} passages ({cache.store.kind}); added: {json.dumps(info)}; "
                  f"sync {sync_s:.1f}s, bot model refit {fit_s:.1f}s")
            print("  large answer():", json.dumps(measure(answer, qs)))
            print("  large chat.send_message():", json.dumps(measure_chat(app, qs)))
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
