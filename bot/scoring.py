"""Article scoring and the answer / clarify / abstain decision of the support bot.

Pure numpy: no Flask, no database, no model. It sits on top of any retriever.

Inputs are L2-normalised embeddings (all-MiniLM-L6-v2, 384-d) of an article's
*passages*: its title, each alternative question, each body chunk. An article
scores by three signals fused on one scale:

* ``max_sim``   -- the best cosine between the query and one of its passages
                   (passage retrieval; body chunks get ``body_sim_offset``
                   because a short query vs. a multi-sentence chunk scores
                   lower than vs. a short question at equal relevance);
* ``centroid``  -- cosine to the normalised mean of its passages (smooths over
                   paraphrases, robust when one passage matches by accident);
* ``prob``      -- softmax probability of a multinomial logistic regression
                   trained at index time on the passages themselves (learns
                   which directions separate *neighbouring* articles).

``score = w_max*max_sim + w_centroid*centroid + w_classifier*prob`` ranks. The confidence
is the probability that the article is the right answer, calibrated on held-out questions
of the development sets (a product of two Platt curves, see ``calibrated``):

    P(right) = sigmoid(a*similarity + b) * sigmoid(c*prob + d)

The first factor says whether the question is about this article at all and reads only the
cosine-scale ``similarity`` (the softmax probability is relative to the KB size: a 5-article KB
gives an off-topic query prob 0.5+, so it must not vouch for relevance); the second says
whether the classifier picked the right one among the related ones. The bot answers when
P(right) >= ``answer_probability`` (0.5: more likely right than wrong, a rule not fitted to
any file); when the runner-up's fused score is within ``clarify_margin`` it offers choices
instead. See bench/RESULTS.md ("Bot scoring", "Session 3: trust") for how these were chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np

from community.config import BOT_PREFIX, ConfigError

PassageKind = Literal["title", "question", "body", "sentence"]
DecisionKind = Literal["answer", "clarify", "abstain"]
# A sentence of a body passage is short, like a question: it gets no body_sim_offset.
KIND_CODES: dict[str, int] = {"title": 0, "question": 1, "body": 2, "sentence": 3}


@dataclass(frozen=True)
class Calibration:
    """The six constants of the confidence curve, and how many held-out cases they were fitted on."""

    rel_slope: float
    rel_bias: float
    pick_slope: float
    pick_bias: float
    sim_slope: float
    sim_bias: float
    cases: int = 0  # 0: the shipped constants
    # Per knowledge base, with a classifier: P(right) = sigmoid(u*similarity + v*prob + w), one
    # logistic regression on both signals (None: the product of the two curves above).
    joint: tuple[float, float, float] | None = None

    def to_array(self) -> np.ndarray:
        joint = self.joint or (np.nan, np.nan, np.nan)
        return np.array([self.rel_slope, self.rel_bias, self.pick_slope, self.pick_bias, self.sim_slope,
                         self.sim_bias, self.cases, *joint], np.float64)

    @classmethod
    def from_array(cls, a: np.ndarray) -> Calibration:
        v = [float(x) for x in np.asarray(a).reshape(-1)]
        joint = (v[7], v[8], v[9]) if len(v) >= 10 and not np.isnan(v[7]) else None
        return cls(v[0], v[1], v[2], v[3], v[4], v[5], cases=int(v[6]), joint=joint)


def shipped(s: BotSettings) -> Calibration:
    """The curve fitted on the development sets (bench/trust_eval.py), carried by BotSettings."""
    return Calibration(s.calib_rel_slope, s.calib_rel_bias, s.calib_pick_slope, s.calib_pick_bias,
                       s.calib_sim_slope, s.calib_sim_bias)


@dataclass(frozen=True)  # shared: settings_from_config hands out one instance per configuration
class BotSettings:
    """Tunable constants of scoring and decision; the app may override any from config."""

    # Fusion weights. max_sim and centroid are cosines (about -1..1), prob is 0..1;
    # equal cosine weights + full prob was best on both dev sets (plateau, +-0.005).
    w_max: float = 0.5
    w_centroid: float = 0.5
    w_classifier: float = 1.0
    # Added to the cosine of body-chunk passages (not titles/questions): length mismatch
    # lowers their cosine for relevant and irrelevant queries alike. 0.10 keeps title+body
    # KBs at out-of-scope recall >= 0.90 with the same answer_threshold (0.15 drops to 0.86).
    body_sim_offset: float = 0.10
    # Related articles (shown beside an answer or an abstain) need a cosine-scale similarity of
    # this minus engine.RELATED_MARGIN. It no longer decides answering: answer_probability does.
    answer_threshold: float = 0.44
    # Answer when the calibrated probability of being right is at least this: 0.5 means "more
    # likely right than wrong", a decision rule rather than a constant fitted to one file.
    answer_probability: float = 0.5
    # Calibration, fitted by bench/trust_eval.py on HWU64 and CLINC150 val in both forms, checked on
    # held-out folds and across sets (RESULTS.md, "Session 3: trust"): relevance = P(in scope) =
    # sigmoid(a*similarity + b); pick = P(right | in scope) = sigmoid(c*prob + d); without a
    # classifier (large KB, or the seconds after an index change) sigmoid(e*similarity + f) alone.
    calib_rel_slope: float = 11.32
    calib_rel_bias: float = -3.0
    calib_pick_slope: float = 7.39
    calib_pick_bias: float = -1.59
    calib_sim_slope: float = 8.89
    calib_sim_bias: float = -3.48
    # Knowledge bases of this many articles get their own curve, fitted at index time on their own
    # held-out questions (bot.calibration); outside the range (and without enough alternative
    # questions) the shipped constants above serve. See bench/RESULTS.md ("Session 4: small help centers").
    kb_calibration_min_articles: int = 3
    kb_calibration_max_articles: int = 60
    # The per-KB joint curve (similarity and classifier probability) is fitted on held-out alternative
    # questions of articles that keep others to train on; an article with fewer than this many questions
    # (a new article, a promoted community answer with only the gap's question) gets a low classifier
    # probability for a question it answers, so its confidence comes from the KB's similarity-only curve.
    kb_joint_min_questions: int = 2
    # Clarify when the runner-up is this close (fused units) and also above threshold.
    # Small on purpose: clarify counts as "not answered" (about 1% of queries).
    clarify_margin: float = 0.02
    max_choices: int = 3
    # Classifier training (index time). L2 is on centred, spectrally scaled features.
    classifier_l2: float = 1e-3
    classifier_iters: int = 50
    # The index-time classifier costs ~iters*4*passages*dim*articles flops; above this many
    # articles it is skipped (ranking falls back to max_sim+centroid, -1 to -2 points acc@1;
    # the abstain decision does not use it, so thresholds stay valid).
    classifier_max_articles: int = 1000
    # With passage hits from a retriever, also score the top-N articles by
    # centroid+classifier so a paraphrase that hit no passage can still win.
    extra_candidates: int = 10
    # How many passage hits the retriever should hand to rank_articles().
    candidate_passages: int = 50
    # Up to this many answerable passages the bot scores every one of them exactly from the
    # fitted model's own matrix (a flat index of just what it may cite) instead of asking the
    # shared index for candidates: no filtered HNSW walk over forum threads and ideas. Measured
    # (rank_articles, one BLAS thread, other core busy): 10k passages p50 4.0 ms, 100k 32 ms;
    # above this the shared index's candidates are cheaper. See bench/RESULTS.md.
    exact_max_passages: int = 30_000

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> BotSettings:
        """Settings with overrides from a config mapping (unknown keys ignored)."""
        names = {f.name: f.type for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in (values or {}).items():
            if key in names and value is not None:
                kwargs[key] = int(value) if key in ("max_choices", "classifier_iters", "classifier_max_articles",
                                                     "extra_candidates", "candidate_passages",
                                                     "exact_max_passages", "kb_calibration_min_articles",
                                                     "kb_calibration_max_articles") else float(value)
        return cls(**kwargs)


def settings_from_config(config: Mapping[str, Any]) -> BotSettings:
    """BotSettings with the COKNOW_BOT_<FIELD> overrides found in config (from the environment or the
    app's own config); an unknown or malformed one is a ConfigError naming the variable."""
    found = tuple(sorted((key, value) for key, value in config.items() if key.startswith(BOT_PREFIX)))
    try:
        return _SETTINGS[found]
    except (KeyError, TypeError):  # TypeError: an unhashable value, which is refused below
        pass
    names = {f.name for f in fields(BotSettings)}
    overrides: dict[str, Any] = {}
    for key, value in found:
        name = key[len(BOT_PREFIX):].lower()
        if name not in names:
            raise ConfigError(f"{key} is not a bot setting; the settings are the fields of bot.scoring.BotSettings")
        try:
            BotSettings.from_mapping({name: value})
        except (TypeError, ValueError):
            raise ConfigError(f"{key} must be a number, got {value!r}") from None
        overrides[name] = value
    settings = _SETTINGS[found] = BotSettings.from_mapping(overrides)
    return settings


# Settings by their overrides: every answer reads them (building them was a few hundred µs per answer).
_SETTINGS: dict[tuple[tuple[str, Any], ...], BotSettings] = {}


@dataclass(frozen=True)
class PassageHit:
    """One passage returned by a retriever; score is its cosine to the query, or None to rescore."""

    article_id: str
    kind: str = "question"
    score: float | None = None


@dataclass(frozen=True)
class ScoredArticle:
    """An article with its fused score and the signals behind it."""

    article_id: str
    score: float
    max_sim: float
    centroid_sim: float
    classifier_prob: float
    best_kind: str
    # Cosine-scale evidence (w_max*max_sim + w_centroid*centroid) / (w_max + w_centroid):
    # what relevance is read from, because it does not depend on KB size.
    similarity: float = 0.0
    # Calibrated: P(the question is about this article at all), and P(this is the right answer).
    relevance: float = 0.0
    confidence: float = 0.0


@dataclass(frozen=True)
class Decision:
    """What the bot should do: answer one article, offer 2-3 choices, or abstain."""

    kind: DecisionKind
    article_ids: tuple[str, ...]
    confidence: float
    ranked: tuple[ScoredArticle, ...] = field(default=(), repr=False)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def train_softmax_classifier(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-3, iters: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by accelerated gradient; returns (W d x C, b C) for raw inputs."""
    x = np.asarray(x, dtype=np.float32)
    n, d = x.shape
    mu = x.mean(axis=0)
    xc = x - mu
    # Scale so the loss has Lipschitz constant ~0.5: one fixed step size then converges in
    # ~50 steps (centring removes the large common direction of sentence embeddings).
    sigma = float(np.sqrt(max(np.linalg.eigvalsh(xc.T @ xc / n)[-1], 1e-12)))
    f = np.hstack([xc / sigma, np.ones((n, 1), np.float32)])
    onehot = np.zeros((n, n_classes), np.float32)
    onehot[np.arange(n), y] = 1.0
    lip = 0.5 * float(np.linalg.norm(f, 2)) ** 2 / n + l2
    step = 1.0 / lip
    w = np.zeros((d + 1, n_classes), np.float32)
    v = w.copy()
    t = 1.0
    for _ in range(iters):
        grad = f.T @ (_softmax(f @ v) - onehot) / n + l2 * v
        w_next = v - step * grad
        t_next = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        v = w_next + ((t - 1.0) / t_next) * (w_next - w)
        w, t = w_next, t_next
    # Fold centring and scaling into the weights: logits = q @ W + b for a raw query vector.
    w_raw = (w[:d] / sigma).astype(np.float32)
    b_raw = (w[d] - mu @ w_raw).astype(np.float32)
    return w_raw, b_raw


class ArticleModel:
    """Per-article passage vectors, centroids and classifier, fitted once per index version.

    Fit cost: O(classifier_iters * 4 * n_passages * dim * n_articles) flops: measured ~2 s for
    64 articles / 700 passages and 2-12 s for 150 / 1,650 on 2 busy cores; it grows with
    articles x passages (2,000 x 20,000 took 11 min on a loaded machine), hence
    BotSettings.classifier_max_articles (default 1,000). Fit in the background when the index
    changes and cache with to_arrays(). Memory: passages x dim x 4 bytes.
    """

    def __init__(
        self,
        article_ids: Sequence[str],
        passage_vectors: np.ndarray,
        passage_article: np.ndarray,
        passage_kind: np.ndarray,
        centroids: np.ndarray,
        weights: np.ndarray | None,
        bias: np.ndarray | None,
    ) -> None:
        self.article_ids: list[str] = list(article_ids)
        self.index: dict[str, int] = {a: i for i, a in enumerate(self.article_ids)}
        # Passages grouped by article (stable) so the per-article max is one reduceat over
        # contiguous segments -- much faster than ufunc.at on tens of thousands of rows.
        order = np.argsort(np.asarray(passage_article, np.int64), kind="stable")
        self.passage_vectors = np.ascontiguousarray(np.asarray(passage_vectors, np.float32)[order])
        self.passage_article = np.asarray(passage_article, np.int64)[order]
        self.passage_kind = np.asarray(passage_kind, np.int8)[order]
        counts_i = np.bincount(self.passage_article, minlength=len(self.article_ids))
        if (counts_i == 0).any():
            raise ValueError("every article needs at least one passage")
        self.starts = np.concatenate([[0], np.cumsum(counts_i)[:-1]]).astype(np.int64)
        self.ends = self.starts + counts_i
        self.centroids = np.asarray(centroids, np.float32)
        self.weights = weights
        self.bias = bias
        # This knowledge base's own confidence curve (bot.calibration), None: the shipped one.
        self.calibration: Calibration | None = None
        # Share of body-chunk passages per article: the centroid of a body-heavy article
        # is diluted the same way its passages are, so it gets the same offset, pro rata.
        counts = np.bincount(self.passage_article, minlength=len(self.article_ids)).astype(np.float32)
        body = np.bincount(self.passage_article, weights=(self.passage_kind == KIND_CODES["body"]),
                           minlength=len(self.article_ids)).astype(np.float32)
        self.body_fraction = body / np.maximum(counts, 1.0)
        self.question_count = np.bincount(self.passage_article[self.passage_kind == KIND_CODES["question"]],
                                          minlength=len(self.article_ids))

    @classmethod
    def fit(
        cls,
        passages: Iterable[tuple[str, str, np.ndarray]],
        settings: BotSettings | None = None,
    ) -> ArticleModel:
        """Build from (article_id, kind, normalised vector) triples: title, questions, body chunks.
        (bot.calibration.fit_calibrated also fits the knowledge base's own confidence curve.)"""
        settings = settings or BotSettings()
        ids: list[str] = []
        index: dict[str, int] = {}
        vecs: list[np.ndarray] = []
        arts: list[int] = []
        kinds: list[int] = []
        for article_id, kind, vec in passages:
            if article_id not in index:
                index[article_id] = len(ids)
                ids.append(article_id)
            arts.append(index[article_id])
            kinds.append(KIND_CODES.get(kind, KIND_CODES["body"]))
            vecs.append(np.asarray(vec, np.float32).reshape(-1))
        if not ids:
            raise ValueError("ArticleModel.fit needs at least one passage")
        x = _normalise(np.stack(vecs))
        y = np.asarray(arts, np.int64)
        cent = np.zeros((len(ids), x.shape[1]), np.float32)
        np.add.at(cent, y, x)
        cent = _normalise(cent)
        w = b = None
        if 2 <= len(ids) <= settings.classifier_max_articles and settings.w_classifier:
            w, b = train_softmax_classifier(x, y, len(ids), settings.classifier_l2, settings.classifier_iters)
        return cls(ids, x, y, np.asarray(kinds, np.int8), cent, w, b)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for np.savez, so a fitted model can be cached next to the index."""
        out = {
            "article_ids": np.asarray(self.article_ids, dtype=object).astype(str),
            "passage_vectors": self.passage_vectors,
            "passage_article": self.passage_article,
            "passage_kind": self.passage_kind,
            "centroids": self.centroids,
        }
        if self.weights is not None and self.bias is not None:
            out["weights"], out["bias"] = self.weights, self.bias
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_array()
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ArticleModel:
        """Inverse of to_arrays (accepts an np.load result)."""
        has_w = "weights" in arrays
        model = cls(
            [str(a) for a in arrays["article_ids"]],
            arrays["passage_vectors"],
            arrays["passage_article"],
            arrays["passage_kind"],
            arrays["centroids"],
            np.asarray(arrays["weights"]) if has_w else None,
            np.asarray(arrays["bias"]) if has_w else None,
        )
        if "calibration" in arrays:
            model.calibration = Calibration.from_array(arrays["calibration"])
        return model

    def classifier_probs(self, query_vec: np.ndarray) -> np.ndarray:
        """Softmax probability of every article (zeros without a classifier)."""
        if self.weights is None or self.bias is None:
            return np.zeros(len(self.article_ids), np.float32)
        return _softmax(query_vec @ self.weights + self.bias)

    def max_sims(self, query_vec: np.ndarray, articles: np.ndarray | None, body_offset: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact best passage cosine (and its kind code) for the given article indices (all if None)."""
        n = len(self.article_ids)
        best = np.full(n, -np.inf, np.float32)
        kind = np.zeros(n, np.int8)
        if articles is None:
            arts = np.arange(n)
            sel = np.arange(len(self.passage_article))
        else:
            arts = np.unique(np.asarray(articles, np.int64))
            sel = np.concatenate([np.arange(self.starts[a], self.ends[a]) for a in arts])
        # No fancy-index copy of the whole matrix in the exact path (30 MB at 20k passages).
        vecs = self.passage_vectors if articles is None else self.passage_vectors[sel]
        sims = vecs @ query_vec
        sims = sims + body_offset * (self.passage_kind[sel] == KIND_CODES["body"])
        lengths = self.ends[arts] - self.starts[arts]
        seg = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        best[arts] = np.maximum.reduceat(sims, seg)
        # Kind of the winning passage, for display/debugging only.
        is_best = sims >= np.repeat(best[arts], lengths)
        first = np.flatnonzero(is_best)
        kind[self.passage_article[sel][first[::-1]]] = self.passage_kind[sel][first[::-1]]
        return best, kind


_KIND_NAMES = {v: k for k, v in KIND_CODES.items()}


def rank_articles(
    model: ArticleModel,
    query_vec: np.ndarray,
    passage_hits: Sequence[PassageHit] | None = None,
    settings: BotSettings | None = None,
    top_k: int = 10,
) -> list[ScoredArticle]:
    """Rank articles for a normalised query vector; hits (if given) choose the candidates, else all articles."""
    s = settings or BotSettings()
    q = _normalise(np.asarray(query_vec, np.float32).reshape(-1))
    n = len(model.article_ids)
    cen = model.centroids @ q + s.body_sim_offset * model.body_fraction
    prob = model.classifier_probs(q)
    # Cheap article-level prior used both as a signal and to add candidates beyond the hits.
    prior = s.w_centroid * cen + s.w_classifier * prob
    if passage_hits is None:
        cand = np.arange(n)
        best, kind = model.max_sims(q, None, s.body_sim_offset)
    else:
        hit_idx = {model.index[h.article_id] for h in passage_hits if h.article_id in model.index}
        extra = np.argsort(-prior)[: s.extra_candidates] if s.extra_candidates > 0 else np.array([], int)
        cand = np.array(sorted(hit_idx | {int(i) for i in extra}), np.int64)
        # Rescore exactly from stored vectors: retriever scores may be fused/lexical, and
        # an article whose best passage fell outside the hits would otherwise be underrated.
        best, kind = model.max_sims(q, cand, s.body_sim_offset)
    fused = s.w_max * best[cand] + prior[cand]
    wsum = max(s.w_max + s.w_centroid, 1e-9)
    order = np.argsort(-fused, kind="stable")[:top_k]
    has_classifier = model.weights is not None and bool(s.w_classifier)
    out = []
    for j in order:
        i = int(cand[j])
        sim = float((s.w_max * best[i] + s.w_centroid * cen[i]) / wsum)
        joint = has_classifier and (model.calibration is None
                                    or model.question_count[i] >= s.kb_joint_min_questions)
        relevance, confidence = calibrated(sim, float(prob[i]), joint, s, model.calibration)
        out.append(ScoredArticle(model.article_ids[i], float(fused[j]), float(best[i]), float(cen[i]),
                                 float(prob[i]), _KIND_NAMES.get(int(kind[i]), "body"), sim,
                                 relevance, confidence))
    return out


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


def calibrated(similarity: float, prob: float, has_classifier: bool, s: BotSettings,
               calibration: Calibration | None = None) -> tuple[float, float]:
    """(relevance, probability of being the right answer) of one article, from its signals, on the
    knowledge base's own curve when it has one, else on the shipped one."""
    c = calibration or shipped(s)
    if not has_classifier:
        p = _sigmoid(c.sim_slope * similarity + c.sim_bias)
        return p, p
    relevance = _sigmoid(c.rel_slope * similarity + c.rel_bias)
    if c.joint is not None:
        return relevance, _sigmoid(c.joint[0] * similarity + c.joint[1] * prob + c.joint[2])
    return relevance, relevance * _sigmoid(c.pick_slope * prob + c.pick_bias)


def decide(ranked: Sequence[ScoredArticle], settings: BotSettings | None = None) -> Decision:
    """Answer, clarify between close candidates, or abstain, from rank_articles output."""
    s = settings or BotSettings()
    ranked = tuple(ranked)
    if not ranked or ranked[0].confidence < s.answer_probability:
        return Decision("abstain", (), ranked[0].confidence if ranked else 0.0, ranked)
    top = ranked[0]
    # A runner-up is a real alternative when the question is about it too (relevance), even if
    # the classifier prefers the top one.
    ok = [r for r in ranked[1:] if r.relevance >= s.answer_probability]
    close = [r for r in ok if top.score - r.score < s.clarify_margin]
    if close and s.max_choices >= 2:
        # Offer everything within twice the margin (still relevant), 2..max_choices items.
        pool = [r for r in ok if top.score - r.score < 2 * s.clarify_margin]
        choices = (top, *pool[: s.max_choices - 1])
        return Decision("clarify", tuple(r.article_id for r in choices), top.confidence, ranked)
    return Decision("answer", (top.article_id,), top.confidence, ranked)
