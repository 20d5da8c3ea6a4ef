"""Measure the cosine threshold at which two customer questions 'mean the same thing'.

Ground truth: the development sets' intents (two queries with the same expected article are
paraphrases of one need; different articles are different needs). Prints precision / recall /
F1 of "same need" by threshold, for question-to-question pairs and question-to-group
(max over a group's earlier variants, which is how knowledge gaps merge).

    .venv/bin/python bench/gap_threshold.py
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from knowledge_index.embedder import get_embedder  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load(name: str, limit: int = 1500) -> tuple[list[str], np.ndarray]:
    rows = [json.loads(line) for line in (DATA / name / "queries.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["expected"] is not None]
    rng = np.random.default_rng(0)
    rows = [rows[i] for i in rng.permutation(len(rows))[:limit]]
    return [r["query"] for r in rows], np.array([r["expected"] for r in rows])


def main() -> None:
    emb = get_embedder()
    print("set           thr   pair_P  pair_R  pair_F1 | group_P group_R")
    for name in ("hwu64", "clinc150_val"):
        texts, labels = load(name)
        vecs = emb.encode(texts)
        sims = vecs @ vecs.T
        iu = np.triu_indices(len(texts), 1)
        same = (labels[:, None] == labels[None, :])[iu]
        s = sims[iu]
        for thr in (0.6, 0.65, 0.7, 0.72, 0.75, 0.8, 0.85):
            pred = s >= thr
            tp = int((pred & same).sum())
            p = tp / max(int(pred.sum()), 1)
            r = tp / max(int(same.sum()), 1)
            f1 = 2 * p * r / max(p + r, 1e-9)
            # Greedy online grouping as gaps do: join the group with the best max-similarity variant.
            groups: list[list[int]] = []
            assign = np.full(len(texts), -1)
            for i in range(len(texts)):
                best, best_g = -1.0, -1
                for g, members in enumerate(groups):
                    m = float(sims[i, members].max())
                    if m > best:
                        best, best_g = m, g
                if best >= thr:
                    groups[best_g].append(i)
                    assign[i] = best_g
                else:
                    groups.append([i])
                    assign[i] = len(groups) - 1
            same_group = (assign[:, None] == assign[None, :])[iu]
            gtp = int((same_group & same).sum())
            gp = gtp / max(int(same_group.sum()), 1)
            gr = gtp / max(int(same.sum()), 1)
            print(f"{name:13} {thr:.2f}  {p:.3f}   {r:.3f}   {f1:.3f}  | {gp:.3f}   {gr:.3f}")


if __name__ == "__main__":
    main()
