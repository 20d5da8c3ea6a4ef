"""Message kinds in the chat: what recognising a message's kind costs, and the whole chat service call.

    .venv/bin/python bench/kinds_bench.py [--queries 400]

On the demo help center (seeded as `make run` seeds it): `bot.kinds.classify()` on the query vector the
engine computed (what the chat adds per message), the bare query encode for scale, and
`chat.send_message()` end to end (engine, kind, ideas / bug routing, storing both messages, gap, commit)
over the same queries as bench/bot_bench.py (demo questions mixed with unrelated HWU64 queries) plus the
written feature requests and bug reports of bot/data/message_kinds.jsonl, so the new routes are timed too.
Prints the kinds the chat recognised and the reply kinds it sent.
"""
from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time

import numpy as np

from bot_bench import ROOT, measure_chat, pct, queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    from flask_migrate import upgrade

    from community import create_app
    from community.extensions import db

    rows = [json.loads(line) for line in (ROOT / "bot" / "data" / "message_kinds.jsonl").read_text().splitlines()]
    extra = [r["text"] for r in rows if r["kind"] in ("feature_request", "bug_report")]
    rng = np.random.default_rng(0)
    qs = queries(args.queries) + [extra[i] for i in rng.permutation(len(extra))[: args.queries // 4]]
    qs = [qs[i] for i in rng.permutation(len(qs))]
    with tempfile.TemporaryDirectory(prefix="coknow-bench-") as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "COKNOW_INSTANCE_DIR": tmp,
                          "COKNOW_INDEX_DIR": f"{tmp}/index"})
        with app.app_context():
            upgrade(revision="heads")
            from bot import kinds
            from community.models import ChatMessage
            from community.seed import seed_demo
            from knowledge_index.embedder import get_embedder

            seed_demo()
            db.session.commit()
            emb = get_embedder()
            print(f"embedding backend: {emb.backend}; {len(qs)} messages")
            kinds.classifier()
            enc, cls = [], []
            for q in qs:
                t0 = time.perf_counter()
                v = emb.encode_query(q)
                t1 = time.perf_counter()
                kinds.classify(q, v)
                t2 = time.perf_counter()
                enc.append((t1 - t0) * 1000)
                cls.append((t2 - t1) * 1000)
            print("  encode_query():", json.dumps({"p50_ms": round(pct(enc, 0.5), 2), "p95_ms": round(pct(enc, 0.95), 2)}))
            print("  kinds.classify(text, vector):", json.dumps({"p50_ms": round(pct(cls, 0.5), 3),
                                                           "p95_ms": round(pct(cls, 0.95), 3)}))
            print("  demo chat.send_message():", json.dumps(measure_chat(app, qs)))
            customer = collections.Counter(db.session.scalars(
                db.select(ChatMessage.message_kind).where(ChatMessage.role == "customer")))
            replies = collections.Counter(db.session.scalars(
                db.select(ChatMessage.reply_kind).where(ChatMessage.role == "bot")))
            print("  message kinds:", dict(customer), " reply kinds:", dict(replies))
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
