"""Evaluate the bot on a knowledge base and labelled queries (the contract other tools rely on).

    python -m bot.evaluate --kb KB.jsonl --queries QUERIES.jsonl [--json]

A throw-away database and index are built with the same import code as `flask coknow kb import`,
and every query goes through the same `answer` the chat uses.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def load_queries(path: Path) -> list[dict[str, Any]]:
    """Query lines {"query": str, "expected": id or null}; a malformed line stops with its number."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: bad JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("query"), str):
            raise SystemExit(f"{path}:{n}: expected {{\"query\": str, \"expected\": id or null}}")
        expected = obj.get("expected")
        out.append({"query": obj["query"], "expected": None if expected is None else str(expected)})
    return out


def evaluate(kb: Path, queries_path: Path, limit: int | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build a temporary site from kb, answer every query, and return the metrics."""
    queries = load_queries(queries_path)[: limit or None]
    with tempfile.TemporaryDirectory(prefix="coknow-eval-") as tmp:
        from flask_migrate import upgrade

        from community import create_app
        from community.extensions import db

        config = {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'eval.db'}",
            "COKNOW_INSTANCE_DIR": tmp,
            "COKNOW_INDEX_DIR": str(Path(tmp) / "index"),
            **{f"COKNOW_BOT_{k.upper()}": v for k, v in (settings or {}).items()},
        }
        app = create_app(config)
        with app.app_context():
            upgrade(revision="heads")
            from bot.engine import answer
            from community.kb.importing import import_path
            from community.models import Article

            report = import_path(kb, commit_batch=db.session.commit)
            if report.rejected:
                print(f"warning: {len(report.rejected)} knowledge-base records rejected", file=sys.stderr)
            key_to_ext = {f"article:{a.id}": a.external_id for a in db.session.scalars(db.select(Article))}
            answer("warm up")
            metrics = _score(queries, answer, key_to_ext)
            db.session.remove()
            db.engine.dispose()
    metrics["n"] = len(queries)
    return metrics


def _score(queries: list[dict[str, Any]], answer, key_to_ext: dict[str, str]) -> dict[str, Any]:
    in_scope = [q for q in queries if q["expected"] is not None]
    top1 = top3 = answered_right = oos_abstain = answers = wrong_answers = 0
    rr = 0.0
    latencies: list[float] = []
    kinds: dict[str, int] = {"answer": 0, "clarify": 0, "abstain": 0}
    for q in queries:
        reply = answer(q["query"])
        latencies.append(reply.latency_ms)
        kinds[reply.kind] += 1
        ranked = [key_to_ext.get(k) for k in reply.ranked]
        chosen = key_to_ext.get(reply.source.key) if reply.source else None
        if reply.kind == "answer":
            answers += 1
            if chosen != q["expected"]:
                wrong_answers += 1
        if q["expected"] is None:
            oos_abstain += reply.kind == "abstain"
            continue
        if ranked[:1] == [q["expected"]]:
            top1 += 1
        if q["expected"] in ranked[:3]:
            top3 += 1
        if q["expected"] in ranked:
            rr += 1 / (ranked.index(q["expected"]) + 1)
        answered_right += reply.kind == "answer" and chosen == q["expected"]
    n_in, n_oos = len(in_scope), len(queries) - len(in_scope)
    return {
        "accuracy_at_1": round(top1 / n_in, 4) if n_in else None,
        "accuracy_at_3": round(top3 / n_in, 4) if n_in else None,
        "mrr": round(rr / n_in, 4) if n_in else None,
        "answered_accuracy": round(answered_right / n_in, 4) if n_in else None,
        "oos_recall": round(oos_abstain / n_oos, 4) if n_oos else None,
        "false_answer_rate": round(wrong_answers / answers, 4) if answers else 0.0,
        "p50_ms": round(_percentile(latencies, 0.5), 2),
        "p95_ms": round(_percentile(latencies, 0.95), 2),
        "replies": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", required=True, type=Path, help="knowledge base JSONL")
    parser.add_argument("--queries", required=True, type=Path, help="queries JSONL")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N queries")
    args = parser.parse_args(argv)
    for path in (args.kb, args.queries):
        if not path.is_file():
            parser.error(f"no such file: {path}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    metrics = evaluate(args.kb, args.queries, args.limit)
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:>18}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
