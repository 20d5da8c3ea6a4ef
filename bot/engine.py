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
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from knowledge_index.embedder import get_embedder
from knowledge_index.chunking import HEADING_SEP
from knowledge_index.search import best_span

from bot.knowledge import ANSWERABLE, document_key, knowledge, passage_kind, split_key
from bot.scoring import BotSettings, PassageHit, ScoredArticle, decide, rank_articles, settings_from_config
from community.extensions import db
from community.models import index_entries
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


def expand_follow_up(question: str, context: ConversationContext | None) -> str:
    """Read a follow-up that opens with a continuation cue ("and on Android?") with the previous question."""
    if context is None or not context.previous_question:
        return question
    if len(question.split()) <= FOLLOW_UP_MAX_WORDS and FOLLOW_UP_CUES.match(question.strip()):
        return f"{context.previous_question} {question}"
    return question


def _source_ref(key: str, meta: dict[str, Any], title: str, heading_path: list[str] | None = None) -> SourceRef:
    source_type, source_id = split_key(key)
    return SourceRef(key, source_type, source_id, title, meta.get("url", ""), heading_path or [],
                     meta.get("credited_user_id"))


def _best_passage(key: str, qvec: np.ndarray, query: str) -> tuple[str, list[str], list[tuple[int, int]]]:
    """The document's body passage closest to the question, with the sentence that matches marked."""
    source_type, source_id = split_key(key)
    t = index_entries.c
    rows = db.session.execute(
        sa.select(t.chunk_key, t.kind, t.heading_path, t.text, t.vector).where(
            t.source_type == source_type, t.source_id == source_id, t.deleted.is_(False)
        )
    ).all()
    body = [r for r in rows if passage_kind(r.chunk_key, r.kind) == "body" and r.vector is not None]
    if not body:
        return "", [], []  # an article with a title and questions only: the title is the answer
    sims = np.stack([np.frombuffer(r.vector, dtype="<f4") for r in body]) @ qvec
    chosen = body[int(np.argmax(sims))]
    path = chosen.heading_path.split(HEADING_SEP) if chosen.heading_path else []
    return chosen.text, path, [best_span(query, chosen.text)]


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
    resolved = expand_follow_up(question.strip(), conversation)
    ranked, qvec = _rank(resolved, settings)
    decision = decide(ranked, settings)
    if (decision.kind == "abstain" and resolved == question.strip() and conversation is not None
            and conversation.previous_question and len(resolved.split()) <= FOLLOW_UP_MAX_WORDS):
        # A fragment with no cue ("on Android?") that means nothing alone: try it as a follow-up.
        combined = f"{conversation.previous_question} {resolved}"
        ranked_c, qvec_c = _rank(combined, settings)
        decision_c = decide(ranked_c, settings)
        if decision_c.kind != "abstain":
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
    confidence = scored.similarity if scored is not None else 0.0
    reply = _answer_reply(choice_key, question, confidence, ranked, qvec, settings)
    reply.query_vector = qvec
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply
