"""Theme run speed on N stored items (default 100,000), through the same service as the page's job.

    .venv/bin/python bench/themes_bench.py [--n 100000] [--seed 0]

A throw-away SQLite site gets the HWU64 messages imported for real (model-encoded once by the
importer), then N threads whose index entries reuse those stored vectors with a little noise
(so the items are not exact copies), written straight to the tables. Then one theme run over
the threads: prints the clustering seconds (what evaluate reports) and the whole run (reading
vectors, clustering, keywords, sentiment, storing items, duplicate pairs).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=Path, default=ROOT.parent / "shared/data/themes/hwu64_messages.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import numpy as np
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from community import create_app
    from community.extensions import db

    with tempfile.TemporaryDirectory(prefix="coknow-themes-bench-") as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "COKNOW_INSTANCE_DIR": tmp,
                          "COKNOW_INDEX_DIR": f"{tmp}/index", "COKNOW_JOBS_URL": "immediate"})
        with app.app_context():
            upgrade(revision="heads")
            from community.forum.importer import import_lines
            from community.insights import themes
            from community.models import Thread, index_entries

            import_lines(args.threads.read_text(encoding="utf-8").splitlines(), "seed")
            t = index_entries.c
            base = db.session.execute(sa.select(t.title, t.vector, t.model, t.dim).where(t.source_type == "thread")).all()
            category_id = db.session.scalar(sa.select(Thread.category_id).limit(1))
            # The seed threads stay out of the run: only the N synthetic ones are clustered.
            db.session.execute(sa.update(Thread).values(hidden=True))
            rng = np.random.default_rng(args.seed)
            vectors = np.stack([np.frombuffer(r.vector, dtype="<f4") for r in base])
            started = time.perf_counter()
            max_id = db.session.scalar(sa.select(sa.func.max(Thread.id)))
            seq = db.session.scalar(sa.select(sa.func.max(t.seq)))
            batch = 10_000
            for start in range(0, args.n, batch):
                size = min(batch, args.n - start)
                pick = rng.integers(0, len(base), size)
                noisy = vectors[pick] + rng.normal(0, 0.02, (size, vectors.shape[1])).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                ids = range(max_id + 1 + start, max_id + 1 + start + size)
                db.session.execute(sa.insert(Thread), [
                    {"id": i, "category_id": category_id, "title": base[p].title, "body": "", "external_id": f"bench:{i}"}
                    for i, p in zip(ids, pick, strict=True)])
                db.session.execute(sa.insert(index_entries), [
                    {"source_type": "thread", "source_id": str(i), "chunk_key": "title", "chunk_no": 0, "kind": "title",
                     "title": base[p].title, "heading_path": "", "text": base[p].title, "meta": {},
                     "vector": v.astype("<f4").tobytes(), "model": base[p].model, "dim": base[p].dim,
                     "content_hash": "", "seq": seq + 1 + n, "deleted": False}
                    for n, (i, p, v) in enumerate(zip(ids, pick, noisy, strict=True), start=start)])
            db.session.commit()
            print(f"stored {args.n} items in {time.perf_counter() - started:.1f} s")
            run = themes.create_run(None, ["thread"], None)
            db.session.commit()
            started = time.perf_counter()
            themes.compute_run(run)
            themes.finish_run(run)
            db.session.commit()
            total = time.perf_counter() - started
            print(f"n={run.n_items} themes={run.n_themes} clustering_seconds={run.seconds:.1f} whole_run_seconds={total:.1f}")
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
