"""How long the first chat answer after start-up takes, against the answers that follow.

    .venv/bin/python bench/first_reply.py [--questions 30] [--demo]

Builds a help center in a temporary SQLite database (the tests' five Tidepool articles, or with --demo
the demo seed), then starts fresh processes on it, as a restarted server would be: each times its first
`answer()` (loading the index and the bot's model included) and the next questions. Run twice per
database: the first start finds no saved model, the second finds the one the first kept (when the code
keeps one). With PYTHONPATH pointing at another checkout it measures that checkout's code.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ARTICLES = ("refund-policy", "reset-password", "install-android", "install-ios", "export-markdown-pdf-html")
QUESTIONS = ["Can I read my notebooks on a Kobo e-reader?", "how do I reset my password", "I forgot my password",
             "does it work on android", "how to put tidepool on my ipad", "can I get my money back",
             "export my notes as pdf", "what is the weather in Paris tomorrow", "Tell me a joke",
             "install on iphone"]


def _app(tmp: str):
    from community import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "COKNOW_INSTANCE_DIR": tmp,
                       "COKNOW_INDEX_DIR": f"{tmp}/index"})


def build(tmp: str, demo: bool) -> None:
    from flask_migrate import upgrade

    from community.extensions import db

    app = _app(tmp)
    with app.app_context():
        upgrade(revision="heads")
        if demo:
            from community.seed import seed_demo

            seed_demo()
        else:
            from community.kb.services import create_article
            from community.models import ArticleStatus

            lines = (ROOT / "community" / "seed_data" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
            records = {r["id"]: r for r in map(json.loads, filter(None, lines))}
            for slug in ARTICLES:
                r = records[slug]
                create_article(r["title"], r["body"], questions=r["questions"], status=ArticleStatus.published, slug=slug)
        db.session.commit()
        db.engine.dispose()


def serve(tmp: str, n: int) -> None:
    """One fresh process: the first answer, then n more (embedder loaded first: that is not the bot's)."""
    from bot.engine import answer
    from community.extensions import db
    from knowledge_index.embedder import get_embedder

    get_embedder().encode_query("warm the encoder")
    app = _app(tmp)
    with app.app_context(), app.test_request_context("/chat/"):
        t0 = time.perf_counter()
        first = answer(QUESTIONS[0])
        first_ms = (time.perf_counter() - t0) * 1000
        rest = []
        for i in range(n):
            t = time.perf_counter()
            answer(QUESTIONS[1 + i % (len(QUESTIONS) - 1)])
            rest.append((time.perf_counter() - t) * 1000)
        rest.sort()
        from bot.knowledge import knowledge

        waiter = getattr(knowledge(), "wait_until_fitted", None)
        if waiter is not None:  # let a background fit finish (and keep its model) before the process ends
            waiter()
        full_ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({"first_ms": round(first_ms, 1), "first": [first.kind, round(first.confidence, 2)],
                          "next_p50_ms": round(rest[len(rest) // 2], 1), "next_max_ms": round(rest[-1], 1),
                          "full_model_ms": round(full_ms, 1)}))
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--serve", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.questions)
        return
    with tempfile.TemporaryDirectory(prefix="coknow-first-") as tmp:
        build(tmp, args.demo)
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        for start in ("first start", "restart"):
            out = subprocess.run([sys.executable, __file__, "--serve", tmp, "--questions", str(args.questions)],  # noqa: S603 -- this script, our arguments
                                 env=env, capture_output=True, text=True, check=True).stdout
            print(f"{start}: {out.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
