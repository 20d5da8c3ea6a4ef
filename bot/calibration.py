"""Confidence calibrated per knowledge base, on its own held-out questions.

The shipped curves (``BotSettings.calib_*``) were fitted on intent sets of 64 and 150 articles. On a
small help center they do not hold: a softmax over five articles is sure of anything, and every
question about the product is close to every article of its help center, so uncovered questions
came out at 0.8-0.96. Here the same two-factor curve

    P(right) = sigmoid(a*similarity + b) * sigmoid(c*prob + d)      (no classifier: sigmoid(e*sim + f))

is refitted for one knowledge base at fit time; with a classifier the displayed confidence is then one
logistic regression on both signals, P(right) = sigmoid(u*similarity + v*prob + w) (on simulated small
help centers it answered 2-4 points more at the same out-of-scope recall than the product form; the
relevance factor still says which runners-up are worth offering). The cases come from the knowledge
base itself:

* answerable: each article's alternative questions, held out in folds (the fold model never saw
  them), right when the fold model ranks their own article first;
* uncovered, in domain: the questions of the articles a fold leaves out entirely, asked of a model
  that does not have those articles (what a question the help center does not cover looks like
  *for this product*);
* uncovered, off topic: a shipped pool of general messages (bot/data/off_topic.jsonl, written for
  the project), minus any the knowledge base itself covers (a passage at cosine >= 0.8).

The two kinds of uncovered question together weigh as much as the answerable ones (customers ask
about as much that a help center does not cover as what it does; a prior, not a fitted constant),
in-domain and off-topic half each. The fit is pure numpy, like bot.scoring; no Flask, no database. The pool's
vectors are built at install time (`python -m bot.calibration build`, in `make install`), so no request embeds it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.scoring import KIND_CODES, ArticleModel, BotSettings, Calibration, shipped

log = logging.getLogger(__name__)

OFF_TOPIC = Path(__file__).resolve().parent / "data" / "off_topic.jsonl"
# Off-topic messages in Chinese, for the multilingual model's fit only (MiniLM's pool and curve stay as measured).
OFF_TOPIC_ZH = Path(__file__).resolve().parent / "data" / "off_topic_zh.jsonl"
# An off-topic message this close to a passage is something the knowledge base covers after all.
COVERED_COSINE = 0.8
FOLDS = 5
# Fold rounds until about this many articles have been left out once each (3 rounds for 5 articles).
ROUND_ARTICLES = 15


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_sim_only(sim: np.ndarray, y: np.ndarray, wt: np.ndarray | None = None,
                 iters: int = 4000) -> tuple[float, float]:
    """Platt scaling on the similarity alone (weighted maximum likelihood, gradient descent)."""
    wt = np.ones_like(y) if wt is None else wt / wt.mean()
    th = np.array([8.0, -3.0])
    for _ in range(iters):
        p = _sig(th[0] * sim + th[1])
        th -= 2.0 * np.array([(wt * (p - y) * sim).mean(), (wt * (p - y)).mean()])
    return float(th[0]), float(th[1])


def fit_product(sim: np.ndarray, prob: np.ndarray, y: np.ndarray, in_scope: np.ndarray,
                wt: np.ndarray | None = None, iters: int = 4000) -> tuple[float, float, float, float]:
    """(a, b, c, d) of sigmoid(a*sim+b)*sigmoid(c*prob+d) in two identifiable steps: (a, b) is Platt
    scaling of the similarity on "the question is in scope at all" (relevance), then (c, d) maximises
    the likelihood of "the top article is right" with (a, b) held (wt: case weights)."""
    wt = np.ones_like(y) if wt is None else wt / wt.mean()
    a, b = fit_sim_only(sim, in_scope, wt, iters)
    u = _sig(a * sim + b)
    th = np.array([4.0, -1.0])
    m = np.zeros(2)
    v = np.zeros(2)
    for t in range(1, iters + 1):
        w = _sig(th[0] * prob + th[1])
        p = np.clip(u * w, 1e-9, 1 - 1e-9)
        gw = wt * (p - y) / (p * (1 - p)) * u * w * (1 - w)  # d NLL / d (c*prob + d)
        g = np.array([(gw * prob).mean(), gw.mean()])
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        th -= 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return a, b, float(th[0]), float(th[1])


def fit_logistic(x: np.ndarray, y: np.ndarray, wt: np.ndarray, l2: float = 1e-3) -> np.ndarray:
    """Weighted logistic regression with an intercept (Newton steps; a few features, a few hundred rows)."""
    wt = wt / wt.mean()
    f = np.c_[x, np.ones(len(x))]
    th = np.zeros(f.shape[1])
    reg = l2 * np.eye(f.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(30):
        p = _sig(f @ th)
        g = f.T @ (wt * (p - y)) / len(y) + reg @ th
        h = (f * (wt * p * (1 - p))[:, None]).T @ f / len(y) + reg + 1e-9 * np.eye(f.shape[1])
        step = np.linalg.solve(h, g)
        th -= step
        if np.abs(step).max() < 1e-6:
            break
    return th


def top_signals(model: ArticleModel, queries: np.ndarray, s: BotSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a batch of normalised query vectors: (top article index, its similarity, its classifier
    probability), ranked exactly as bot.scoring.rank_articles ranks them over all articles."""
    q = np.asarray(queries, np.float32)
    sims = q @ model.passage_vectors.T + s.body_sim_offset * (model.passage_kind == KIND_CODES["body"])
    best = np.maximum.reduceat(sims, model.starts, axis=1)
    cen = q @ model.centroids.T + s.body_sim_offset * model.body_fraction
    if model.weights is not None and model.bias is not None and s.w_classifier:
        z = q @ model.weights + model.bias
        z = np.exp(z - z.max(axis=1, keepdims=True))
        prob = z / z.sum(axis=1, keepdims=True)
    else:
        prob = np.zeros_like(cen)
    fused = s.w_max * best + s.w_centroid * cen + s.w_classifier * prob
    top = fused.argmax(axis=1)
    rows = np.arange(len(q))
    sim = (s.w_max * best[rows, top] + s.w_centroid * cen[rows, top]) / max(s.w_max + s.w_centroid, 1e-9)
    return top, sim, prob[rows, top]


def off_topic_digest(data: Path = OFF_TOPIC, second: bool = False) -> str:
    """Names the pool's text and the embedding model: a change to either embeds it again."""
    from knowledge_index.embedder import MODEL_NAME
    from knowledge_index.multilingual import MODEL_NAME as SECOND_MODEL

    h = hashlib.sha256(data.read_bytes())
    if second:
        h.update(OFF_TOPIC_ZH.read_bytes())
    h.update(f"|{SECOND_MODEL if second else MODEL_NAME}".encode())
    return h.hexdigest()[:16]


def off_topic_path(data: Path = OFF_TOPIC, directory: Path | None = None, second: bool = False) -> Path:
    """Where the pool's vectors are built: COKNOW_OFF_TOPIC_DIR, else inside the Python environment
    (like the ONNX export and the message-kind classifier)."""
    env = os.environ.get("COKNOW_OFF_TOPIC_DIR")
    base = directory or (Path(env) if env else Path(sys.prefix) / "share" / "coknow" / "off-topic")
    return base / f"off-topic-{off_topic_digest(data, second)}.npy"


def _texts(data: Path, second: bool = False) -> list[str]:
    files = (data, OFF_TOPIC_ZH) if second else (data,)
    return [json.loads(line)["text"] for f in files for line in f.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _encoder(second: bool):  # type: ignore[no-untyped-def]
    if second:
        from knowledge_index.multilingual import get_multilingual_embedder

        return get_multilingual_embedder()
    from knowledge_index.embedder import get_embedder

    return get_embedder()


def build_off_topic(data: Path = OFF_TOPIC, directory: Path | None = None, force: bool = False,
                    second: bool = False) -> Path:
    """Embed the shipped pool and write it where off_topic_vectors() looks; a no-op when it is built."""
    path = off_topic_path(data, directory, second)
    if path.exists() and not force:
        return path
    vectors = np.asarray(_encoder(second).encode(_texts(data, second)), np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)  # a concurrent reader sees the whole file or none
    return path


_pool: np.ndarray | None = None
_pool2: np.ndarray | None = None  # the multilingual model's (English and Chinese messages)
_pool_lock = threading.Lock()


def off_topic_vectors(second: bool = False) -> np.ndarray:
    """The shipped off-topic pool's vectors: built at install (`python -m bot.calibration build`), else
    embedded now (a few seconds) and kept for the next process; once per process either way. second: the
    multilingual model's vectors of the pool and its Chinese messages."""
    global _pool, _pool2
    if (_pool2 if second else _pool) is None:
        with _pool_lock:
            if (_pool2 if second else _pool) is None:
                path = off_topic_path(second=second)
                vectors = None
                if path.exists():
                    try:
                        vectors = np.load(path, allow_pickle=False)
                    except (OSError, ValueError):
                        log.warning("off-topic vectors %s unreadable; embedding the pool again", path)
                if vectors is None or vectors.shape[0] != len(_texts(OFF_TOPIC, second)):
                    try:
                        path = build_off_topic(force=True, second=second)
                        vectors = np.load(path, allow_pickle=False)
                    except OSError as exc:  # a read-only environment still calibrates; it embeds again next time
                        log.warning("could not keep the off-topic vectors at %s: %s", path, exc)
                        vectors = np.asarray(_encoder(second).encode(_texts(OFF_TOPIC, second)), np.float32)
                if second:
                    _pool2 = np.asarray(vectors, np.float32)
                else:
                    _pool = np.asarray(vectors, np.float32)
    pool = _pool2 if second else _pool
    assert pool is not None
    return pool


def fit_for_kb(model: ArticleModel, s: BotSettings, off_topic: np.ndarray | None) -> Calibration | None:
    """This knowledge base's own curve, or None where it cannot be fitted (too few or too many articles,
    too few alternative questions): the caller keeps the shipped constants."""
    n = len(model.article_ids)
    q_idx = np.flatnonzero(model.passage_kind == KIND_CODES["question"])
    if not (s.kb_calibration_min_articles <= n <= s.kb_calibration_max_articles) or len(q_idx) < 2 * n:
        return None
    has_classifier = model.weights is not None
    fit_settings = s if has_classifier else _without_classifier(s)
    folds = min(FOLDS, n)
    q_art = model.passage_article[q_idx]
    names = {v: k for k, v in KIND_CODES.items()}
    sims: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    right: list[np.ndarray] = []
    in_scope: list[np.ndarray] = []
    kind: list[np.ndarray] = []  # 0 answerable, 1 uncovered in domain, 2 off topic
    # Each round draws its own folds: a small help center gives few cases, and one draw of which
    # articles go together is noisy. Rounds shrink as the help center grows (same number of cases).
    rounds = max(1, int(np.ceil(ROUND_ARTICLES / n)))
    for r, f in ((r, f) for r in range(rounds) for f in range(folds)):
        if f == 0:
            rng = np.random.default_rng(r)
            art_fold = rng.permutation(n) % folds
            q_fold = rng.integers(0, folds, len(q_idx))
        left_out = art_fold == f
        held = q_idx[(q_fold == f) & ~left_out[q_art]]
        keep = ~left_out[model.passage_article]
        keep[held] = False
        kept = np.flatnonzero(keep)
        sub = ArticleModel.fit(((model.article_ids[model.passage_article[i]], names[int(model.passage_kind[i])],
                                 model.passage_vectors[i]) for i in kept), fit_settings,
)
        sub_index = np.array([sub.index.get(a, -1) for a in model.article_ids])
        uncovered = q_idx[left_out[q_art]]
        for rows, label in ((held, 0), (uncovered, 1)):
            if not len(rows):
                continue
            top, sim, prob = top_signals(sub, model.passage_vectors[rows], fit_settings)
            sims.append(sim)
            probs.append(prob)
            right.append((top == sub_index[model.passage_article[rows]]) & (label == 0))
            in_scope.append(np.full(len(rows), label == 0))
            kind.append(np.full(len(rows), label))
    if off_topic is not None and len(off_topic):
        pool = off_topic[(off_topic @ model.passage_vectors.T).max(axis=1) < COVERED_COSINE]
        if len(pool):
            _, sim, prob = top_signals(model, pool, fit_settings)
            sims.append(sim)
            probs.append(prob)
            right.append(np.zeros(len(pool), bool))
            in_scope.append(np.zeros(len(pool), bool))
            kind.append(np.full(len(pool), 2))
    k = np.concatenate(kind)
    n_pos = int((k == 0).sum())
    if n_pos < n or not (k != 0).any():
        return None
    # Uncovered questions weigh as much as answerable ones in all, in-domain and off-topic half each.
    parts = [p for p in (1, 2) if (k == p).any()]
    wt = np.ones(len(k))
    for p in parts:
        wt[k == p] = n_pos / len(parts) / (k == p).sum()
    sim_a, prob_a = np.concatenate(sims), np.concatenate(probs)
    y, scope = np.concatenate(right).astype(float), np.concatenate(in_scope).astype(float)
    e, f_ = fit_sim_only(sim_a, y, wt, iters=1500)
    joint = None
    if has_classifier:
        a, b, c, d = fit_product(sim_a, prob_a, y, scope, wt, iters=1500)
        u, v, w = fit_logistic(np.c_[sim_a, prob_a], y, wt)
        joint = (float(u), float(v), float(w))
    else:
        base = shipped(s)
        a, b, c, d = base.rel_slope, base.rel_bias, base.pick_slope, base.pick_bias
    return Calibration(a, b, c, d, e, f_, cases=len(k), joint=joint)


def _without_classifier(s: BotSettings) -> BotSettings:
    return replace(s, w_classifier=0.0)


def fit_calibrated(passages: Iterable[tuple[str, str, np.ndarray]], settings: BotSettings,
                   off_topic: np.ndarray | None) -> ArticleModel:
    """ArticleModel.fit, plus this knowledge base's own confidence curve where it can be fitted."""
    model = ArticleModel.fit(passages, settings)
    model.calibration = fit_for_kb(model, settings, off_topic)
    return model


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.calibration build [--force]` embeds the shipped off-topic pool (run by make install)."""
    parser = argparse.ArgumentParser(prog="python -m bot.calibration", description=main.__doc__)
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument("--force", action="store_true", help="embed again even if built")
    args = parser.parse_args(argv)
    if args.command == "check":
        path = off_topic_path()
        print(f"{'built' if path.exists() else 'not built'}: {path}")
        return 0 if path.exists() else 1
    print(f"off-topic pool vectors: {build_off_topic(force=args.force)}")
    print(f"off-topic pool vectors, multilingual model: {build_off_topic(force=args.force, second=True)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
