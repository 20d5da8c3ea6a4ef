"""The answer engine: question (+ conversation) -> answer with a cited passage, clarify, or abstain.

Callable without a request context (an app context is enough): the chat, the HTTP API and
`python -m bot.evaluate` all call `answer`.
"""
from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from knowledge_index.embedder import get_embedder
from knowledge_index.chunking import HEADING_SEP
from knowledge_index.multilingual import get_multilingual_embedder, has_cjk, language_of
from knowledge_index.search import SECOND_FUSION, best_span

from bot.calibration import COVERED_COSINE
from bot.knowledge import ANSWERABLE, BotKnowledge, document_key, knowledge, passage_kind, second_knowledge, split_key
from bot.scoring import BotSettings, PassageHit, ScoredArticle, decide, rank_articles, settings_from_config
from community.search import get_cache

ReplyKind = Literal["answer", "clarify", "abstain"]
MAX_RELATED = 3
RELATED_MARGIN = 0.08
# A follow-up this short ("and on Android?") is read together with the previous question.
FOLLOW_UP_MAX_WORDS = 5
FOLLOW_UP_CUES = re.compile(
    r"^(and|also|what about|how about|same for|but|or|on|for|in|with|as|to|via|from|without|using|if)\b", re.I
)


@dataclass(frozen=True)
class SourceRef:
    """A citable document: what it is, where it lives, and who to credit."""

    key: str
    source_type: str
    source_id: str
    title: str
    url: str
    heading_path: list[str] = field(default_factory=list)
    credited_user_id: int | None = None


@dataclass
class ConversationContext:
    """What the engine needs from earlier turns; built by the chat from stored messages."""

    previous_question: str | None = None
    pending_question: str | None = None  # the question a clarify is waiting on
    pending_choices: tuple[str, ...] = ()  # document keys offered


@dataclass
class Reply:
    kind: ReplyKind
    text: str
    question: str  # the question as understood (follow-ups expanded)
    confidence: float
    source: SourceRef | None = None
    passage: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    related: list[SourceRef] = field(default_factory=list)
    choices: list[SourceRef] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    ranked: list[str] = field(default_factory=list)  # document keys, best first (evaluation, insights)
    latency_ms: float = 0.0
    # The question's embedding, for whoever post-processes the reply (bot.idea_requests); never serialised.
    query_vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the socket and the HTTP API (subclasses' fields included)."""
        return _plain(self)


# Fields of a reply that are not stored with it: the evaluation's ranking, the question's vector.
_NOT_STORED = frozenset({"ranked", "query_vector"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _plain(value: Any) -> Any:
    """value as JSON-ready data, copied: dataclasses.asdict's result with tuples as lists and _NOT_STORED left
    out, without asdict's generic deep copy (a fifth of storing a reply, session 9, issue 21)."""
    if isinstance(value, (str, int, float, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS.get(type(value))
        if names is None:
            names = _FIELDS[type(value)] = tuple(f.name for f in dataclasses.fields(value) if f.name not in _NOT_STORED)
        return {name: _plain(getattr(value, name)) for name in names}
    return value


# Articles the multilingual ranking fuses with BM25: the union of both top lists (bench/RESULTS.md, Session 6:
# z-scores within the union of the two top-50 lists, lexical weight 0.1, LCQMC 0.757).
SECOND_CANDIDATES = 50


@dataclass
class _Ranking:
    """Articles ranked for a question, and by which model."""

    articles: list[ScoredArticle]
    qvec: np.ndarray  # MiniLM's vector of the question (ideas, follow-ups), always computed
    qvec2: np.ndarray | None = None  # the multilingual model's, when it ranked the articles
    knowledge: BotKnowledge | None = None  # whose titles and stored vectors describe the articles

    @property
    def second(self) -> bool:
        return self.qvec2 is not None


def other_language_note(language: str) -> str:
    """The sentence a reply adds when its source is in another language than the question."""
    if language == "zh":
        return _("This answer comes from an article in Chinese.")
    return _("This answer comes from an article in English.")


def bot_settings() -> BotSettings:
    """Scoring settings: defaults chosen on the development sets, overridable by COKNOW_BOT_* config."""
    return settings_from_config(current_app.config)


def is_follow_up_cue(question: str) -> bool:
    """A short message that opens like a continuation ("and on Android?")."""
    return len(question.split()) <= FOLLOW_UP_MAX_WORDS and bool(FOLLOW_UP_CUES.match(question.strip()))


def expand_follow_up(question: str, context: ConversationContext | None) -> str:
    """The follow-up glued to the previous question: the reading `answer` tries for a continuation."""
    if context is None or not context.previous_question:
        return question
    return f"{context.previous_question} {question}"


def _continues(previous: str, combined: Sequence[ScoredArticle], settings: BotSettings) -> bool:
    """Whether the message moves the previous question toward the article the glued reading found.

    An unrelated message ("what's the weather in Paris" after a password question) only dilutes the
    previous question: glued, it still finds the previous question's article, less similar than the
    previous question alone. A real continuation ("on Android?") makes that article more similar.
    """
    target = combined[0]
    before = next((r for r in _rank(previous, settings).articles if r.article_id == target.article_id), None)
    return before is None or target.similarity > before.similarity


def _source_ref(key: str, meta: dict[str, Any], title: str, heading_path: list[str] | None = None) -> SourceRef:
    source_type, source_id = split_key(key)
    return SourceRef(key, source_type, source_id, title, meta.get("url", ""), heading_path or [],
                     meta.get("credited_user_id"))


def _best_passage(key: str, qvec: np.ndarray, query: str, second: bool = False
                  ) -> tuple[str, list[str], list[tuple[int, int]]]:
    """The part of the document that answers (a section's steps rather than the introduction), with its
    best-matching sentence marked. second: qvec is the multilingual model's, compared with the second vectors."""
    rows = (second_knowledge() if second else knowledge()).passages_of(key)
    body = [r for r in rows if r.kind == "body"]
    if not body:
        return "", [], []  # an article with a title and questions only: the title is the answer
    # An introduction restates the question (so it matches best) while the answer is in the sections
    # after it: quote one of those when the article has any. Passages embed with their heading path,
    # so the section is chosen on passages, not on sentences out of context.
    quotable = [r for r in body if r.heading_path] or body
    scores = _vectors(quotable) @ qvec
    # A section's heading says what it is about; its text repeats the article's words in every section.
    headings = {r.chunk_key[:-2]: r for r in rows if r.kind == "heading"}
    with_heading = [headings.get(r.chunk_key.rpartition("#")[0]) for r in quotable]
    if all(h is not None for h in with_heading):
        scores = (scores + _vectors(with_heading) @ qvec) / 2
    chosen = quotable[int(np.argmax(scores))]
    # Sentences know their passage by key ("<passage key>.s<n>").
    inside = [r for r in rows if r.kind == "sentence"
              and r.chunk_key.rpartition(".s")[0] == chosen.chunk_key and r.text in chosen.text]
    if inside:
        sentence = inside[int(np.argmax(_vectors(inside) @ qvec))].text
        at = chosen.text.find(sentence)
        highlight = (at, at + len(sentence))
    else:
        highlight = best_span(query, chosen.text)
    path = chosen.heading_path.split(HEADING_SEP) if chosen.heading_path else []
    return chosen.text, path, [highlight]


def _vectors(rows: Sequence[Any]) -> np.ndarray:
    return np.stack([r.vector for r in rows])


def _rank(question: str, settings: BotSettings) -> _Ranking:
    qvec = get_embedder().encode_query(question)
    if has_cjk(question):
        # MiniLM reads English; a question in Chinese is ranked by the multilingual model (with BM25), over
        # articles in either language.
        second = _rank_second(question, settings, qvec)
        if second is not None:
            return second
    model = knowledge().current(settings)
    if model is None:
        return _Ranking([], qvec, knowledge=knowledge())
    if len(model.passage_article) <= settings.exact_max_passages:
        return _Ranking(rank_articles(model, qvec, None, settings, top_k=10), qvec, knowledge=knowledge())
    hits = get_cache().candidates(
        question, settings.candidate_passages,
        {"source_type": set(ANSWERABLE), "visibility": "public"}, query_vector=qvec, lexical=False, spans=False,
    )
    passage_hits = [PassageHit(document_key(h.source_type, h.source_id), passage_kind(h.chunk_key), None)
                    for h in hits]
    return _Ranking(rank_articles(model, qvec, passage_hits, settings, top_k=10), qvec, knowledge=knowledge())


def _rank_second(question: str, settings: BotSettings, qvec: np.ndarray,
                 language: str | None = None) -> _Ranking | None:
    """Articles ranked by the multilingual model (None when no article has its vectors yet); a question in
    CJK script fuses BM25 in by z-score (SECOND_FUSION's weight). language: keep only articles in it."""
    kn2 = second_knowledge()
    model = kn2.current(settings)
    if model is None:
        return None
    qvec2 = get_multilingual_embedder().encode_query(question)
    n = max(SECOND_CANDIDATES, 10)
    public = {"source_type": set(ANSWERABLE), "visibility": "public"}
    if len(model.passage_article) <= settings.exact_max_passages:
        dense = rank_articles(model, qvec2, None, settings, top_k=n)
    else:
        hits = get_cache().second_candidates(qvec2, None, settings.candidate_passages, public, lexical=False)
        dense = rank_articles(model, qvec2, [PassageHit(document_key(h.source_type, h.source_id), passage_kind(h.chunk_key))
                                             for h in hits], settings, top_k=n)
    ranked = dense
    if has_cjk(question):
        ranked = _fuse_lexical(question, model, qvec2, dense, settings, public)
    if language is not None:
        ranked = [r for r in ranked if kn2.languages.get(r.article_id) == language]
    return _Ranking(ranked[:10], qvec, qvec2, kn2)


def _fuse_lexical(question: str, model: Any, qvec2: np.ndarray, dense: list[ScoredArticle], settings: BotSettings,
                  filters: dict[str, Any]) -> list[ScoredArticle]:
    """dense's articles and BM25's best, ordered by (1-w)*z(score) + w*z(BM25) over their union, each article's
    score moved to score + w/(1-w)*sd(score)*z(BM25): the same order, on the score's own scale (the clarify
    margin reads it)."""
    lexical = get_cache(sync=False).document_lexical(question, [split_key(r.article_id) for r in dense],
                                                     SECOND_CANDIDATES, filters)
    known = {r.article_id for r in dense}
    extra = [document_key(*doc) for doc, score in lexical.items() if score > 0 and document_key(*doc) not in known]
    extra = [k for k in extra if k in model.index]
    union = list(dense)
    if extra:
        union += rank_articles(model, qvec2, [PassageHit(k) for k in extra],
                               dataclasses.replace(settings, extra_candidates=0), top_k=len(extra))
    if len(union) < 2:
        return union
    scores = np.array([r.score for r in union], np.float64)
    lex = np.array([lexical.get(split_key(r.article_id), 0.0) for r in union], np.float64)
    w = SECOND_FUSION.lexical_weight
    sd_lex = float(lex.std())
    if sd_lex < 1e-12:
        return union
    moved = scores + w / (1 - w) * float(scores.std()) * (lex - lex.mean()) / sd_lex
    order = np.argsort(-moved, kind="stable")
    return [dataclasses.replace(union[i], score=float(moved[i])) for i in order]


def _answer_reply(key: str, question: str, confidence: float, ranking: _Ranking, settings: BotSettings) -> Reply:
    kn = ranking.knowledge or knowledge()
    ranked = ranking.articles
    if ranking.second:
        assert ranking.qvec2 is not None
        passage, path, highlights = _best_passage(key, ranking.qvec2, question, second=True)
    else:
        passage, path, highlights = _best_passage(key, ranking.qvec, question)
    source = _source_ref(key, kn.meta.get(key, {}), kn.titles.get(key, ""), path)
    # Related articles need not clear the answer bar, only come near it.
    floor = settings.answer_threshold - RELATED_MARGIN
    related = [
        _source_ref(r.article_id, kn.meta.get(r.article_id, {}), kn.titles.get(r.article_id, ""))
        for r in ranked if r.article_id != key and r.similarity >= floor
    ][:MAX_RELATED]
    text = _("Here is what I found in “%(title)s”.", title=source.title)
    language = kn.languages.get(key, "en")
    if language != language_of(question):
        text = f"{text} {other_language_note(language)}"
    return Reply(
        kind="answer", text=text,
        question=question, confidence=confidence, source=source, passage=passage, highlights=highlights,
        related=related, ranked=[r.article_id for r in ranked],
    )


def _other_language(question: str, ranking: _Ranking, settings: BotSettings) -> _Ranking | None:
    """For a question MiniLM ranked: the multilingual model's ranking over every article when the help center
    has articles in the other language (an English question, Chinese articles), else None. An English-only
    help center (the development sets) never asks it, so its English path costs nothing more."""
    if ranking.second:
        return None  # the multilingual model already ranked every language
    if ranking.articles and ranking.articles[0].max_sim >= COVERED_COSINE:
        # A passage in the question's own language says nearly what the question says (its own example
        # question, say): an article in the other language cannot come first, and the multilingual encode
        # would cost a third of the answer's CPU (bench/RESULTS.md, session 7, issue 21).
        return None
    other = "en" if language_of(question) == "zh" else "zh"
    if other not in knowledge().languages.values():
        return None
    return _rank_second(question, settings, ranking.qvec)


def answer(question: str, conversation: ConversationContext | None = None,
           settings: BotSettings | None = None) -> Reply:
    """Answer a customer's question from the indexed knowledge, or say plainly that we can't."""
    started = time.perf_counter()
    settings = settings or bot_settings()
    resolved = question.strip()
    ranking = _rank(resolved, settings)
    decision = decide(ranking.articles, settings)
    previous = conversation.previous_question if conversation is not None else None
    if previous and len(resolved.split()) <= FOLLOW_UP_MAX_WORDS and (
            decision.kind == "abstain" or is_follow_up_cue(resolved)):
        # A short message may continue the previous question ("and on Android?", or a bare "on
        # Android?" that means nothing alone). Read it that way only when the glued reading is
        # answerable and the message itself moves it toward that answer; anything else gets the
        # reply it would get as the first message of a conversation.
        combined = expand_follow_up(resolved, conversation)
        ranking_c = _rank(combined, settings)
        decision_c = decide(ranking_c.articles, settings)
        if decision_c.kind != "abstain" and _continues(previous, ranking_c.articles, settings):
            resolved, ranking, decision = combined, ranking_c, decision_c
    other = _other_language(resolved, ranking, settings)
    if other is not None and other.articles and other.knowledge is not None \
            and other.knowledge.languages.get(other.articles[0].article_id) != language_of(resolved):
        # The multilingual model compares the question with articles in both languages on one scale, and an
        # article in the other language starts behind (a translation is less similar than a paraphrase): when
        # one still comes first, it answers what the same-language articles do not (measured in
        # bench/RESULTS.md, Session 7: MiniLM alone answered these English questions from the wrong English
        # article). Only an answer is taken, never a clarify mixing languages.
        decision_o = decide(other.articles, settings)
        if decision_o.kind == "answer":
            ranking, decision = other, decision_o
    ranked, qvec = ranking.articles, ranking.qvec
    kn = ranking.knowledge or knowledge()
    if decision.kind == "answer":
        reply = _answer_reply(decision.article_ids[0], resolved, decision.confidence, ranking, settings)
    elif decision.kind == "clarify":
        reply = Reply(
            kind="clarify", text=_("Did you mean one of these?"), question=resolved,
            confidence=decision.confidence,
            choices=[_source_ref(k, kn.meta.get(k, {}), kn.titles.get(k, "")) for k in decision.article_ids],
            ranked=[r.article_id for r in ranked],
        )
    else:
        reply = Reply(
            kind="abstain",
            text=_("I couldn't find a good answer to that in our help center. "
                   "You can ask the community or contact our support team."),
            question=resolved, confidence=decision.confidence,
            next_steps=["ask_community", "contact_staff"], ranked=[r.article_id for r in ranked],
            related=[_source_ref(r.article_id, kn.meta.get(r.article_id, {}), kn.titles.get(r.article_id, ""))
                     for r in ranked[:MAX_RELATED] if r.similarity >= settings.answer_threshold - RELATED_MARGIN],
        )
    reply.query_vector = qvec
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply


def answer_choice(choice_key: str, conversation: ConversationContext,
                  settings: BotSettings | None = None) -> Reply:
    """Resolve a clarify: answer the pending question with the document the customer picked."""
    started = time.perf_counter()
    settings = settings or bot_settings()
    if choice_key not in conversation.pending_choices or not conversation.pending_question:
        raise ValueError("that choice was not offered")
    question = conversation.pending_question
    ranking = _rank(question, settings)
    scored = next((r for r in ranking.articles if r.article_id == choice_key), None)
    confidence = scored.confidence if scored is not None else 0.0
    reply = _answer_reply(choice_key, question, confidence, ranking, settings)
    reply.query_vector = ranking.qvec
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply
