"""The answer engine: question (+ conversation) -> answer with a cited passage, clarify, or abstain.

Callable without a request context (an app context is enough): the chat, the HTTP API and
`python -m bot.evaluate` all call `answer`.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from knowledge_index.embedder import get_embedder
from knowledge_index.chunking import HEADING_SEP
from knowledge_index.search import best_span

from bot.knowledge import ANSWERABLE, document_key, knowledge, passage_kind, split_key
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
        """JSON-ready form used by the socket and the HTTP API."""
        data = asdict(self)
        data["highlights"] = [list(h) for h in self.highlights]
        data.pop("ranked")
        data.pop("query_vector")
        return data


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
    before = next((r for r in _rank(previous, settings)[0] if r.article_id == target.article_id), None)
    return before is None or target.similarity > before.similarity


def _source_ref(key: str, meta: dict[str, Any], title: str, heading_path: list[str] | None = None) -> SourceRef:
    source_type, source_id = split_key(key)
    return SourceRef(key, source_type, source_id, title, meta.get("url", ""), heading_path or [],
                     meta.get("credited_user_id"))


def _best_passage(key: str, qvec: np.ndarray, query: str) -> tuple[str, list[str], list[tuple[int, int]]]:
    """The part of the document that answers (a section's steps rather than the introduction), with its
    best-matching sentence marked."""
    rows = knowledge().passages_of(key)
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


def _rank(question: str, settings: BotSettings) -> tuple[list[ScoredArticle], np.ndarray]:
    qvec = get_embedder().encode_query(question)
    model = knowledge().current(settings)
    if model is None:
        return [], qvec
    if len(model.passage_article) <= settings.exact_max_passages:
        return rank_articles(model, qvec, None, settings, top_k=10), qvec
    hits = get_cache().candidates(
        question, settings.candidate_passages,
        {"source_type": set(ANSWERABLE), "visibility": "public"}, query_vector=qvec, lexical=False, spans=False,
    )
    passage_hits = [PassageHit(document_key(h.source_type, h.source_id), passage_kind(h.chunk_key), None)
                    for h in hits]
    return rank_articles(model, qvec, passage_hits, settings, top_k=10), qvec


def _answer_reply(key: str, question: str, confidence: float, ranked: Sequence[ScoredArticle], qvec: np.ndarray,
                  settings: BotSettings) -> Reply:
    kn = knowledge()
    passage, path, highlights = _best_passage(key, qvec, question)
    source = _source_ref(key, kn.meta.get(key, {}), kn.titles.get(key, ""), path)
    # Related articles need not clear the answer bar, only come near it.
    floor = settings.answer_threshold - RELATED_MARGIN
    related = [
        _source_ref(r.article_id, kn.meta.get(r.article_id, {}), kn.titles.get(r.article_id, ""))
        for r in ranked if r.article_id != key and r.similarity >= floor
    ][:MAX_RELATED]
    return Reply(
        kind="answer",
        text=_("Here is what I found in “%(title)s”.", title=source.title),
        question=question, confidence=confidence, source=source, passage=passage, highlights=highlights,
        related=related, ranked=[r.article_id for r in ranked],
    )


def answer(question: str, conversation: ConversationContext | None = None,
           settings: BotSettings | None = None) -> Reply:
    """Answer a customer's question from the indexed knowledge, or say plainly that we can't."""
    started = time.perf_counter()
    settings = settings or bot_settings()
    resolved = question.strip()
    ranked, qvec = _rank(resolved, settings)
    decision = decide(ranked, settings)
    previous = conversation.previous_question if conversation is not None else None
    if previous and len(resolved.split()) <= FOLLOW_UP_MAX_WORDS and (
            decision.kind == "abstain" or is_follow_up_cue(resolved)):
        # A short message may continue the previous question ("and on Android?", or a bare "on
        # Android?" that means nothing alone). Read it that way only when the glued reading is
        # answerable and the message itself moves it toward that answer; anything else gets the
        # reply it would get as the first message of a conversation.
        combined = expand_follow_up(resolved, conversation)
        ranked_c, qvec_c = _rank(combined, settings)
        decision_c = decide(ranked_c, settings)
        if decision_c.kind != "abstain" and _continues(previous, ranked_c, settings):
            resolved, ranked, qvec, decision = combined, ranked_c, qvec_c, decision_c
    kn = knowledge()
    if decision.kind == "answer":
        reply = _answer_reply(decision.article_ids[0], resolved, decision.confidence, ranked, qvec, settings)
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
    ranked, qvec = _rank(question, settings)
    scored = next((r for r in ranked if r.article_id == choice_key), None)
    confidence = scored.confidence if scored is not None else 0.0
    reply = _answer_reply(choice_key, question, confidence, ranked, qvec, settings)
    reply.query_vector = qvec
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply
