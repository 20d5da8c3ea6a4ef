"""Confidence and abstention on small knowledge bases, simulated from the development sets.

Usage:  .venv/bin/python -m bench.small_kb_eval [--data ../shared/data] [--sizes 5,10,30,60] [--reps 10]

For HWU64 and CLINC150 val, a knowledge base of k intents is drawn at random (title + alternative
questions, the "full" form); its in-scope queries are the set's test queries of those intents, and
as many out-of-scope queries are drawn from the other intents' test queries (in domain: the same
kind of product, not covered), plus, for CLINC150, its 100 real out-of-scope queries. Each KB is
scored twice, by bot.scoring with the shipped curve (fitted on 64/150-intent sets) and with the
curve bot.calibration fits for that KB on its own held-out questions. Printed per set and size
(mean over the draws): answered accuracy (right answers / in-scope), out-of-scope recall, false
answer rate (wrong answers / answers), ece (10 bins over answers) and mean confidence.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bot_scoring_eval import Encoder, passages_for  # noqa: E402
from bench.trust_eval import ece  # noqa: E402
from bot.calibration import OFF_TOPIC, fit_calibrated  # noqa: E402
from bot.scoring import ArticleModel, BotSettings, decide, rank_articles  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def score(model: ArticleModel, qv: np.ndarray, expected: list[str | None], s: BotSettings) -> dict[str, float]:
    n_in = sum(e is not None for e in expected)
    n_oos = len(expected) - n_in
    right = abstain_oos = 0
    conf: list[float] = []
    ok: list[float] = []
    for v, e in zip(qv, expected, strict=True):
        d = decide(rank_articles(model, v, None, s, top_k=10), s)
        if d.kind == "answer":
            conf.append(d.confidence)
            ok.append(float(d.article_ids[0] == e))
            right += d.article_ids[0] == e
        elif d.kind == "abstain" and e is None:
            abstain_oos += 1
    return {"answered": right / n_in, "oos_recall": abstain_oos / n_oos if n_oos else float("nan"),
            "false": (len(ok) - sum(ok)) / max(len(ok), 1), "ece": ece(conf, ok),
            "mean_conf": float(np.mean(conf)) if conf else float("nan"), "n_answers": len(conf)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("COKNOW_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--sizes", default="5,10,30,60")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--sets", default="clinc150_val,hwu64")
    ap.add_argument("--max-articles", type=int, default=None,
                    help="fit per-KB curves up to this many articles (default: BotSettings')")
    args = ap.parse_args()
    data = Path(args.data)
    s = BotSettings()
    if args.max_articles is not None:
        s = replace(s, kb_calibration_max_articles=args.max_articles)
    pool_texts = [json.loads(line)["text"] for line in OFF_TOPIC.read_text().splitlines() if line]
    off_topic = Encoder("off_topic")(pool_texts)
    row = "{:<14}{:>5}  {:<9}{:>9}{:>9}{:>8}{:>7}{:>8}{:>9}"
    print(row.format("set", "k", "curve", "answered", "oos_rec", "false", "ece", "m_conf", "answers"))
    for ds in args.sets.split(","):
        kb = [json.loads(line) for line in open(data / ds / "kb.jsonl")]
        queries = [json.loads(line) for line in open(data / ds / "queries.jsonl")]
        enc = Encoder(ds)
        ps = passages_for(kb, "full")
        pv = enc([p[2] for p in ps])
        qv_all = enc([q["query"] for q in queries])
        ids = sorted({a["id"] for a in kb})
        real_oos = [i for i, q in enumerate(queries) if q["expected"] is None]
        for k in (int(x) for x in args.sizes.split(",")):
            totals: dict[str, list[dict[str, float]]] = {"shipped": [], "per-KB": []}
            for rep in range(args.reps):
                rng = np.random.default_rng(1000 * k + rep)
                chosen = set(rng.choice(ids, size=k, replace=False).tolist())
                inside = [i for i, q in enumerate(queries) if q["expected"] in chosen]
                others = [i for i, q in enumerate(queries) if q["expected"] is not None and q["expected"] not in chosen]
                oos = rng.choice(others, size=min(len(inside), len(others)), replace=False).tolist() + real_oos
                rows = inside + oos
                expected = [queries[i]["expected"] if i in set(inside) else None for i in rows]
                passages = [(p[0], p[1], v) for p, v in zip(ps, pv, strict=True) if p[0] in chosen]
                model = fit_calibrated(passages, s, off_topic)
                per_kb = score(model, qv_all[rows], expected, s)
                cal, model.calibration = model.calibration, None
                totals["shipped"].append(score(model, qv_all[rows], expected, s))
                totals["per-KB"].append(per_kb)
                model.calibration = cal
            for name, ms in totals.items():
                mean = {m: float(np.nanmean([x[m] for x in ms])) for m in ms[0]}
                print(row.format(ds, k, name, f"{mean['answered']:.3f}", f"{mean['oos_recall']:.3f}",
                                 f"{mean['false']:.3f}", f"{mean['ece']:.3f}", f"{mean['mean_conf']:.3f}",
                                 f"{mean['n_answers']:.0f}"), flush=True)


if __name__ == "__main__":
    main()
