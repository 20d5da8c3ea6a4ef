"""Questions answered across languages through the real engine (`bot.evaluate`), and what the multilingual
model costs a process (issue 19).

Usage:  .venv/bin/python bench/zh_cross_language.py [--memory] [--seed]

Knowledge bases are the demo seed's help articles (community/seed_data/articles.jsonl):

* zh -> en: the 65 English articles; 50 Chinese questions written for them
  (bench/data/zh_questions_for_en_articles.jsonl) and 30 Chinese off-topic questions
  (bench/data/zh_off_topic_questions.jsonl, expected: abstain);
* en -> zh: the 60 English articles that have no Chinese twin plus the 5 Chinese articles; 20 English questions
  only the Chinese articles answer (bench/data/en_questions_for_zh_articles.jsonl), 20 English and 30 Chinese
  off-topic questions (expected: abstain).

* en on the bilingual seed: all 70 articles; the same 20 English questions, expected to get the English twin of
  the Chinese article (does the multilingual model pull English questions to Chinese articles?), and the 20
  English off-topic questions.

--memory: resident memory of one process before and after its first Chinese question (the multilingual model,
its fitted article model and second index), on the en -> zh knowledge base.
--seed: time of `flask coknow seed`'s indexing in a fresh database, with the second vectors, and the time to
rebuild the index cache (both FAISS indexes) from the seeded table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "bench" / "data"
SEED = ROOT / "community" / "seed_data" / "articles.jsonl"
TWINS = ("reset-password", "export-markdown-pdf-html", "sync-not-working", "two-factor-authentication-setup",
         "refund-policy")


def _articles() -> list[dict]:
    return [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _lines(*names: str) -> list[dict]:
    return [json.loads(line) for name in names for line in (DATA / name).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cross_language(tmp: Path, only: str | None = None) -> None:
    from bot.evaluate import evaluate

    articles = _articles()
    english = [a for a in articles if not a["id"].startswith("zh-")]
    chinese = [a for a in articles if a["id"].startswith("zh-")]
    runs = {
        "zh -> en (65 English articles)": (
            english, _lines("zh_questions_for_en_articles.jsonl", "zh_off_topic_questions.jsonl")),
        "en -> zh (60 English without a twin + 5 Chinese)": (
            [a for a in english if a["id"] not in TWINS] + chinese,
            _lines("en_questions_for_zh_articles.jsonl", "en_off_topic_questions.jsonl", "zh_off_topic_questions.jsonl")),
    }
    # Both languages present (the full demo help center): English questions should keep their English article.
    twin_of = dict(zip(("zh-reset-password", "zh-export-markdown", "zh-sync-not-working", "zh-two-factor", "zh-refunds"),
                       TWINS, strict=True))
    runs["en on the bilingual seed (70 articles; expected: the English twin)"] = (
        articles, [{**q, "expected": twin_of[q["expected"]]} for q in _lines("en_questions_for_zh_articles.jsonl")]
        + _lines("en_off_topic_questions.jsonl"))
    if only:
        runs = {k: v for k, v in runs.items() if k.startswith(only)}
    for name, (kb, queries) in runs.items():
        kb_path = _write(tmp / "kb.jsonl", kb)
        q_path = _write(tmp / "queries.jsonl", queries)
        started = time.perf_counter()
        metrics = evaluate(kb_path, q_path)
        print(f"{name}: {json.dumps(metrics)} ({time.perf_counter() - started:.0f} s)", flush=True)


def memory(tmp: Path) -> None:
    """Import the knowledge base here, then measure a server-like process that only reads it (a child)."""
    import subprocess

    from flask_migrate import upgrade

    from community import create_app
    from community.extensions import db

    kb = [a for a in _articles() if a["id"] not in TWINS]
    url = f"sqlite:///{tmp / 'mem.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COKNOW_INSTANCE_DIR": str(tmp), "COKNOW_INDEX_DIR": str(tmp / "index")})
    with app.app_context():
        upgrade(revision="heads")
        from community.kb.importing import import_path

        import_path(_write(tmp / "kb.jsonl", kb), commit_batch=db.session.commit)
        db.session.remove()
        db.engine.dispose()
    subprocess.run([sys.executable, __file__, "--memory-child", url, str(tmp)], check=True)  # noqa: S603


def memory_child(url: str, tmp: Path) -> None:
    from community import create_app
    from community.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COKNOW_INSTANCE_DIR": str(tmp), "COKNOW_INDEX_DIR": str(tmp / "index"),
                      "COKNOW_BACKGROUND_FITS": False})
    with app.app_context():
        from bot.engine import answer
        from knowledge_index import multilingual

        def p50(xs: list[float]) -> float:
            return sorted(xs)[len(xs) // 2]

        from bot.engine import bot_settings
        from bot.knowledge import knowledge
        from community.search import get_cache
        from knowledge_index.embedder import get_embedder

        get_embedder().encode_query("warm up")
        get_cache()
        knowledge().current(bot_settings())
        before = _rss_mb()  # what a server process holds without the multilingual model
        reply = answer("如何把笔记导出为 Markdown？")
        after = _rss_mb()
        assert multilingual.is_loaded()
        use = multilingual.get_multilingual_embedder()
        encode = []
        for q in ("如何把笔记导出为 Markdown？", "How do I change my email address?") * 10:
            started = time.perf_counter()
            use.encode_query(q)
            encode.append((time.perf_counter() - started) * 1000)
        chinese = [answer(q).latency_ms for q in ("如何把笔记导出为 Markdown？", "忘记密码怎么办", "退款多久到账")
                   for _ in range(10)]
        english = [answer(q).latency_ms for q in ("How do I install Tidepool on Linux?",
                                                 "How do I change my email address?") for _ in range(10)]
        unanswered = [answer("what is the capital of australia").latency_ms for _ in range(10)]
        print(f"memory: RSS {before:.0f} MB with MiniLM, the index and the bot's model loaded, {after:.0f} MB after the "
              f"first Chinese question (+{after - before:.0f} MB: the multilingual model, its article model and second "
              f"index); first Chinese reply: {reply.kind} {reply.source.title if reply.source else ''}", flush=True)
        print(f"latency p50 ms (help center with Chinese articles): multilingual encode alone {p50(encode):.1f}; "
              f"Chinese question {p50(chinese):.1f}; English question (MiniLM, plus the multilingual model over both "
              f"languages) {p50(english):.1f}; English off-topic {p50(unanswered):.1f}", flush=True)
        db.session.remove()
        db.engine.dispose()


def seed(tmp: Path) -> None:
    from flask_migrate import upgrade

    from community import create_app
    from community.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'seed.db'}", "COKNOW_INSTANCE_DIR": str(tmp),
                      "COKNOW_INDEX_DIR": str(tmp / "index"), "TESTING": True})
    with app.app_context():
        upgrade(revision="heads")
        from community.models import index_entries
        from community.seed import seed_demo
        from knowledge_index.sync import IndexCache

        started = time.perf_counter()
        seed_demo()
        db.session.commit()
        seeded = time.perf_counter() - started
        t = index_entries.c
        with db.engine.connect() as conn:
            rows = conn.execute(db.select(db.func.count(), db.func.count(t.vector2)).where(t.deleted.is_(False))).one()
        cache = IndexCache(index_entries)
        started = time.perf_counter()
        with db.engine.connect() as conn:
            cache.rebuild(conn)
        rebuilt = time.perf_counter() - started
        print(f"seed: {seeded:.1f} s to seed (embeddings read from the demo's saved files when present); "
              f"{rows[0]} live passages, {rows[1]} with a second vector; index rebuild {rebuilt:.2f} s "
              f"({len(cache.store)} + {len(cache.second_store)} vectors)", flush=True)
        db.session.remove()
        db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--only", help="run only the evaluations whose name starts with this")
    parser.add_argument("--memory-child", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child[0], Path(args.memory_child[1]))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load average {Path('/proc/loadavg').read_text().strip()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="coknow-zh-") as tmp:
        if not args.skip_eval:
            cross_language(Path(tmp), args.only)
        if args.memory:
            memory(Path(tmp))
        if args.seed:
            seed(Path(tmp))
    print(f"load average {Path('/proc/loadavg').read_text().strip()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
