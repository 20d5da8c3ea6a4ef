"""Measure the message-kind classifier on a labelled file (the contract other tools rely on).

    python -m bot.evaluate_kinds --messages FILE.jsonl [--json]
    python -m bot.evaluate_kinds --messages FILE.jsonl --cv 5 [--group-duplicates] [--json]

Lines are {"text", "kind"} with kind question / feature_request / bug_report / other. Without --cv the
shipped classifier (trained only on bot/data/message_kinds.jsonl) labels every line: how well it
generalises to messages it never saw. With --cv K the method (the same head on the same features)
is trained and tested by stratified K-fold cross-validation on FILE itself; --group-duplicates keeps
near-duplicate lines (cosine >= 0.85, e.g. augmented copies of one review) in one fold, so a test line's
twin is never in training.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bot.kinds import KINDS, KindDataError, classifier, fit_head, load_messages

DUPLICATE_COSINE = 0.85


def metrics(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """n, accuracy, macro_f1 over the four kinds, and precision / recall / F1 / support per kind."""
    y, p = np.asarray(expected), np.asarray(predicted)
    per_kind: dict[str, dict[str, float | int]] = {}
    f1s = []
    for kind in KINDS:
        tp = int(np.sum((p == kind) & (y == kind)))
        precision = tp / max(int(np.sum(p == kind)), 1)
        recall = tp / max(int(np.sum(y == kind)), 1)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_kind[kind] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                          "support": int(np.sum(y == kind))}
        if np.any(y == kind):  # a kind absent from the file does not drag the mean down
            f1s.append(f1)
    return {"n": int(len(y)), "accuracy": round(float(np.mean(y == p)) if len(y) else 0.0, 4),
            "macro_f1": round(float(np.mean(f1s)) if f1s else 0.0, 4), "per_kind": per_kind}


def duplicate_groups(vectors: np.ndarray, threshold: float = DUPLICATE_COSINE) -> np.ndarray:
    """A group id per row: rows joined by a chain of cosines >= threshold share one."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    sims = vectors @ vectors.T
    np.fill_diagonal(sims, 0.0)
    return connected_components(csr_matrix(sims >= threshold), directed=False)[1]


def cross_validate(texts: Sequence[str], vectors: np.ndarray, kinds: Sequence[str], folds: int,
                   group_duplicates: bool, seed: int = 0) -> list[str]:
    """Each line's kind as predicted by the method trained on the other folds."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    y = np.asarray(kinds)
    if group_duplicates:
        splits = StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(
            vectors, y, duplicate_groups(vectors))
    else:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(vectors, y)
    t = np.asarray(texts, dtype=object)
    predicted = np.empty(len(y), dtype=object)
    for train, test in splits:
        predicted[test] = fit_head(list(t[train]), vectors[train], y[train]).predict(list(t[test]), vectors[test])
    return [str(k) for k in predicted]


def evaluate(path: Path, folds: int = 0, group_duplicates: bool = False) -> dict[str, Any]:
    """Metrics of the shipped classifier on path, or of the method cross-validated on path."""
    from knowledge_index.embedder import get_embedder

    texts, kinds = load_messages(path)
    vectors = get_embedder().encode(texts)
    if folds:
        predicted = cross_validate(texts, vectors, kinds, folds, group_duplicates)
        mode = f"cv{folds}" + ("-grouped" if group_duplicates else "")
    else:
        predicted = classifier().classify_many(texts, vectors)
        mode = "shipped"
    return {"mode": mode, **metrics(kinds, predicted)}


def _table(result: dict[str, Any]) -> str:
    lines = [f"mode {result['mode']}  n {result['n']}  accuracy {result['accuracy']:.4f}  "
             f"macro_f1 {result['macro_f1']:.4f}", f"{'kind':<16}{'precision':>10}{'recall':>8}{'f1':>8}{'n':>7}"]
    for kind, m in result["per_kind"].items():
        lines.append(f"{kind:<16}{m['precision']:>10.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}{m['support']:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bot.evaluate_kinds", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", required=True, type=Path, help='JSONL lines {"text", "kind"}')
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.add_argument("--cv", type=int, default=0, metavar="K",
                        help="cross-validate the method on the file with K folds instead of using the shipped model")
    parser.add_argument("--group-duplicates", action="store_true",
                        help=f"with --cv: keep lines at cosine >= {DUPLICATE_COSINE} in one fold")
    args = parser.parse_args(argv)
    if args.cv == 1 or args.cv < 0:
        parser.error("--cv needs at least 2 folds")
    if args.group_duplicates and not args.cv:
        parser.error("--group-duplicates needs --cv")
    if not args.messages.is_file():
        parser.error(f"--messages: no such file: {args.messages}")
    try:
        result = evaluate(args.messages, args.cv, args.group_duplicates)
    except KindDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
