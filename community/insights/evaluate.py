"""Measure theme discovery against labelled threads (the contract other tools rely on).

    python -m community.insights.evaluate --threads FILE.jsonl [--json] [--stability]

A throw-away site is built, the threads are imported with the forum importer (which indexes them),
and the same theme run as the page clusters the stored vectors (nothing re-encoded). Prints n,
n_themes, v_measure and ari against each thread's "category", and seconds (clustering only).
--stability also runs themes on a random 90 % first and reports the adjusted Rand index of the
common items between that run and the full run that follows it (warm, as the scheduled runs are),
and of a fresh full run without the previous one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def load_categories(path: Path) -> tuple[list[str], dict[str, str]]:
    """The file's lines and each thread id's category; a malformed line stops with its number."""
    lines = path.read_text(encoding="utf-8").splitlines()
    categories: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{n}: bad JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or "id" not in obj:
            raise SystemExit(f"{path}:{n}: expected a thread object with an \"id\"")
        if obj.get("category"):
            categories[str(obj["id"])] = str(obj["category"])
    return lines, categories


def evaluate(path: Path, stability: bool = False, seed: int = 0) -> dict[str, Any]:
    """Build a temporary site from the threads, run themes, and score them against the categories."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score, v_measure_score

    lines, categories = load_categories(path)
    with tempfile.TemporaryDirectory(prefix="coknow-themes-") as tmp:
        from flask_migrate import upgrade

        from community import create_app
        from community.extensions import db

        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'eval.db'}",
            "COKNOW_INSTANCE_DIR": tmp,
            "COKNOW_INDEX_DIR": str(Path(tmp) / "index"),
            "COKNOW_JOBS_URL": "immediate",
        })
        with app.app_context():
            upgrade(revision="heads")
            from sqlalchemy import select
            from sqlalchemy import update as sa_update

            from community.forum.importer import import_lines
            from community.insights import themes
            from community.models import Thread, ThemeItem, ThemeRun

            report = import_lines(lines, "eval")
            if report.rejected:
                print(f"warning: {len(report.rejected)} lines rejected, first: {report.rejected[0]}", file=sys.stderr)
            external = {str(t.id): (t.external_id or ":").split(":", 1)[1] for t in db.session.scalars(select(Thread))}

            def run_once(keep: set[str] | None = None) -> tuple[ThemeRun, dict[str, int]]:
                if keep is not None:  # hide the other threads from this run
                    db.session.execute(sa_update(Thread).where(Thread.id.not_in([int(k) for k in keep]))
                                       .values(hidden=True))
                run = themes.create_run(None, ["thread"], None)
                themes.compute_run(run)
                themes.finish_run(run)
                db.session.commit()
                if keep is not None:
                    db.session.execute(sa_update(Thread).values(hidden=False))
                    db.session.commit()
                labels = {i.source_id: i.theme_id for i in db.session.scalars(select(ThemeItem).where(ThemeItem.run_id == run.id))}
                return run, labels

            out: dict[str, Any] = {}
            run, labels = run_once()
            scored = [i for i in labels if external.get(i) in categories]
            truth = [categories[external[i]] for i in scored]
            found = [labels[i] for i in scored]
            out.update(n=len(scored), n_themes=run.n_themes, n_categories=len(set(truth)),
                       v_measure=round(float(v_measure_score(truth, found)), 4),
                       ari=round(float(adjusted_rand_score(truth, found)), 4), seconds=run.seconds)
            if stability:
                # Start over from a run on 90 % of the threads, then run on all of them as the schedule does.
                db.session.execute(sa_update(ThemeRun).values(state="archived"))
                db.session.commit()
                rng = np.random.default_rng(seed)
                part = set(rng.choice(sorted(external), size=int(0.9 * len(external)), replace=False).tolist())
                _, first = run_once(part)
                warm_run, warm = run_once()
                common = sorted(set(first) & set(warm))

                def agreement(other: dict[str, int]) -> float:
                    return round(float(adjusted_rand_score([first[i] for i in common], [other[i] for i in common])), 4)

                out.update(stability_ari_warm=agreement(warm), stability_ari_fresh=agreement(labels),
                           warm_n_themes=warm_run.n_themes,
                           warm_v_measure=round(float(v_measure_score(truth, [warm[i] for i in scored])), 4))
            db.session.remove()
            db.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m community.insights.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", required=True, type=Path, help="threads JSONL (the forum import format)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--stability", action="store_true", help="also measure a 90 %% run against the full run")
    args = parser.parse_args(argv)
    if not args.threads.is_file():
        parser.error(f"no such file: {args.threads}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    metrics = evaluate(args.threads, stability=args.stability)
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
