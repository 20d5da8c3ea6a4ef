"""Feature requests in chat: a message an existing idea serves better than an article meets that idea
(status, votes, vote/follow from the chat); a request nothing matches is offered the new-idea form.

Demand is recorded on the bot's reply itself: a reply of kind "idea" stores source_type "idea" and the
idea's id in the chat message's own columns. The message already holds who asked, when and in which
words, so a separate table would only copy it (and need a migration); the count and the requesters are
plain column queries that run the same on SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import quote

from flask_babel import gettext as _
from flask_babel import ngettext
import numpy as np
from sqlalchemy import distinct, func, select

from bot.engine import Reply, SourceRef
from bot.knowledge import document_key, knowledge
from bot.row_ids import parse_row_id
from community import search
from community.errors import DomainError, ValidationFailed
from community.extensions import db
from community.ideas import services as ideas
from community.models import ChatMessage, Conversation, Idea, User
from knowledge_index.embedder import get_embedder

IDEA_KIND = "idea"
SUGGEST_KIND = "suggest_idea"
# An idea is "the same request" as a chat message at the cosine at which two short texts were measured
# to mean the same thing (community.search.DUPLICATE_THRESHOLD, 0.72, same-intent vs different-intent
# question pairs of the dev sets, bench/RESULTS.md). A chat request and an idea's title are exactly
# such a pair: two customers' short phrasings of one wish; the idea form's duplicate check uses it too.
IDEA_MATCH_THRESHOLD = search.DUPLICATE_THRESHOLD
NEW_IDEA_FORM = "/ideas/new"
_TITLE_PREFIX = re.compile(r"^\s*(feature\s+request|suggestion|idea)\s*[:\-–—]\s*", re.I)

# Phrasings that ask for the product to change, not how to use it. "can/could you add…" needs a verb of
# building after it, so "can you help me export…" and "can I export…" stay questions.
_REQUEST_CUES = re.compile(
    r"""
      \b(?:can|could|would|will)\s+(?:you|tidepool)\s+(?:please\s+)?
         (?:add|support|build|implement|include|introduce|bring|offer|make\s+it\s+possible)\b
    | \bplease\s+(?:add|support|build|implement|include|introduce|bring|make\s+it\s+possible)\b
    | \bit\s+would\s+be\s+(?:really\s+|so\s+|very\s+)?(?:great|nice|awesome|cool|helpful|useful|good|amazing|lovely)\b
    | \b(?:feature|product)\s+request\b
    | \bi\s+(?:really\s+)?wish\b
    | \bwhy\s+(?:can't|cannot|can\s+not)\s+i\b
    | \bwill\s+(?:you|tidepool|there)\s+ever\b
    | \bany\s+plans?\s+(?:to|for)\b
    | \b(?:are\s+you|do\s+you)\s+(?:plan|planning)\s+(?:to|on)\b
    | \bi(?:'d|\s+would)\s+(?:really\s+)?love\s+(?:to\s+see|it\s+if|a|an|support)\b
    | \b(?:you|tidepool)\s+should\s+(?:add|support|build|offer)\b
    """,
    re.I | re.X,
)


def looks_like_request(text: str) -> bool:
    """Whether a message asks for the product to change ("can you add…", "I wish…", "feature request: …").

    A cue list, not a model: it only decides whether an unmatched message is offered the idea form,
    so a miss costs an offer, never an answer. How-to questions ("how do I export…") carry no cue.
    """
    return bool(_REQUEST_CUES.search((text or "").replace("’", "'")))


def idea_title(text: str) -> str:
    """The new-idea form's title, prefilled from the chat message (the customer edits it there)."""
    title = " ".join(_TITLE_PREFIX.sub("", text or "").split())
    return title[: ideas.MAX_TITLE]


def suggest_url(text: str) -> str:
    """The new-idea form prefilled with the request as its title."""
    return f"{NEW_IDEA_FORM}?title={quote(idea_title(text), safe='')}"


def idea_summary(idea: Idea) -> dict[str, Any]:
    """What the chat shows of an idea: title, status and votes, and where it lives."""
    return {"id": idea.id, "title": idea.title, "status": idea.status.value,
            "status_label": ideas.status_label(idea.status), "vote_count": idea.vote_count,
            "follower_count": idea.follower_count, "url": ideas.idea_url(idea)}


@dataclass
class RequestReply(Reply):
    """The engine's reply recast for a feature request: the idea it meets, or where to suggest one."""

    idea: dict[str, Any] | None = None
    suggest_url: str | None = None
    engine_kind: str = ""  # what the engine had decided: an abstain is still a knowledge gap


def _recast(reply: Reply, **changes: Any) -> RequestReply:
    base = {f.name: getattr(reply, f.name) for f in fields(Reply)}
    base["engine_kind"] = reply.kind
    base.update(changes)
    return RequestReply(**base)


def _query_vector(reply: Reply) -> np.ndarray:
    if reply.query_vector is not None:
        return reply.query_vector
    return get_embedder().encode_query(reply.question)


def _best_idea(scores: dict[str, float]) -> tuple[Idea, float] | None:
    ranked = sorted(((s, k) for k, s in scores.items()), reverse=True)
    for score, key in ranked:
        if score < IDEA_MATCH_THRESHOLD:
            return None
        source_id = key.partition(":")[2]
        idea = db.session.get(Idea, int(source_id)) if source_id.isdigit() else None
        if idea is not None:  # the bot's copy of the index may lag a deletion by a moment
            return ideas.resolve_merged(idea), score
    return None


def meet_ideas(reply: Reply) -> Reply:
    """The reply to send: the engine's, unless an idea serves the message better or it is an unmatched request.

    An idea wins when it is a good match and its cosine beats the article the engine answered (or offered
    first); an article that cleared the bot's threshold and scores higher keeps the answer.
    """
    question = reply.question
    # Ideas and the engine's article compared on one scale: each one's best passage cosine, scored
    # exactly from the bot's in-memory copy (no second encode, no filtered search of the shared index).
    kn = knowledge()
    qvec = _query_vector(reply) if question.strip() else None
    match = _best_idea(kn.idea_scores(qvec)) if qvec is not None else None
    if match is not None and qvec is not None:
        idea, score = match
        engine_doc = reply.source.key if reply.source else (reply.choices[0].key if reply.choices else None)
        article_score = (kn.passage_cosine(engine_doc, qvec) if reply.kind in ("answer", "clarify") and engine_doc
                         else None)
        if article_score is None or score > article_score:
            votes = ngettext("%(num)d vote", "%(num)d votes", idea.vote_count)
            return _recast(
                reply, kind=IDEA_KIND, confidence=round(score, 4),
                text=_("This is a known request: “%(title)s” — status %(status)s, %(votes)s.", title=idea.title,
                       status=ideas.status_label(idea.status), votes=votes),
                source=SourceRef(document_key("idea", str(idea.id)), "idea", str(idea.id), idea.title,
                                 ideas.idea_url(idea)),
                passage="", highlights=[], related=[], choices=[], next_steps=["vote_idea", "follow_idea"],
                idea=idea_summary(idea),
            )
    if reply.kind == "abstain" and looks_like_request(question):
        return _recast(
            reply, kind=SUGGEST_KIND,
            text=_("That sounds like a feature request, and nobody has suggested it yet. "
                   "Suggest it as an idea and other customers can vote for it."),
            next_steps=["suggest_idea", *reply.next_steps], suggest_url=suggest_url(question),
        )
    return reply


def records_gap(kind: str | None) -> bool:
    """Whether a reply of this kind leaves the question unanswered (a knowledge gap)."""
    return kind in ("abstain", SUGGEST_KIND)


# ---------------------------------------------------------------- vote and follow from the chat

class SignInRequired(DomainError):
    status = 401
    code = "unauthorized"


def _idea_for(user: User | None, idea_id: object) -> Idea:
    if user is None:
        raise SignInRequired(_("Sign in to vote for or follow an idea."))
    idea_id = parse_row_id(idea_id)
    if idea_id is None:
        raise ValidationFailed(_("Say which idea you mean."), {"idea_id": [_("Must be a number.")]})
    return ideas.resolve_merged(ideas.get_idea_or_404(idea_id))


@dataclass
class IdeaAction:
    """The outcome of a vote or follow from the chat; changed is False for a repeat (a no-op)."""

    idea: Idea
    changed: bool
    voted: bool
    following: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the socket acknowledgement and the HTTP API."""
        return {"idea": idea_summary(self.idea), "changed": self.changed, "voted": self.voted,
                "following": self.following}


def _outcome(user: User, idea: Idea, changed: bool) -> IdeaAction:
    db.session.refresh(idea)
    return IdeaAction(idea, changed, idea.id in ideas.has_voted(user, [idea.id]), ideas.is_following(user, idea))


def vote_from_chat(user: User | None, idea_id: object) -> IdeaAction:
    """Vote for the idea the bot offered; a second vote changes nothing."""
    idea = _idea_for(user, idea_id)
    assert user is not None
    return _outcome(user, idea, ideas.cast_vote(user, idea))


def follow_from_chat(user: User | None, idea_id: object) -> IdeaAction:
    """Follow the idea the bot offered; following twice changes nothing."""
    idea = _idea_for(user, idea_id)
    assert user is not None
    return _outcome(user, idea, ideas.follow_idea(user, idea))


def viewer_state(user: User | None, idea_id: object) -> dict[str, Any] | None:
    """The idea as it is now, and whether this viewer voted for and follows it (None when it is gone)."""
    idea = db.session.get(Idea, idea_id) if isinstance(idea_id, int) else None
    if idea is None:
        return None
    idea = ideas.resolve_merged(idea)
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    return {**idea_summary(idea), "voted": signed_in and idea.id in ideas.has_voted(user, [idea.id]),
            "following": signed_in and ideas.is_following(user, idea)}


# ---------------------------------------------------------------- demand on the idea page

def _family(idea_id: int) -> list[str]:
    """The idea and every idea merged into it (requests for those count here), as index source ids."""
    found, frontier = {idea_id}, {idea_id}
    while frontier:
        frontier = set(db.session.scalars(select(Idea.id).where(Idea.merged_into_id.in_(frontier)))) - found
        found |= frontier
    return [str(i) for i in sorted(found)]


def _requests(idea_id: int):
    return (ChatMessage.role == "bot", ChatMessage.reply_kind == IDEA_KIND, ChatMessage.source_type == "idea",
            ChatMessage.source_id.in_(_family(idea_id)))


def chat_request_count(idea_id: int) -> int:
    """How many chat messages met this idea."""
    return db.session.scalar(select(func.count(ChatMessage.id)).where(*_requests(idea_id))) or 0


def chat_requesters(idea_id: int) -> list[int]:
    """The signed-in customers whose chat messages met this idea (anonymous visitors cannot be told)."""
    return list(db.session.scalars(
        select(distinct(Conversation.user_id)).join(ChatMessage, ChatMessage.conversation_id == Conversation.id)
        .where(*_requests(idea_id), Conversation.user_id.is_not(None)).order_by(Conversation.user_id)
    ))


def register() -> None:
    """Report chat requests as demand on every idea (called once per app at start)."""
    ideas.register_demand_source(ideas.DemandSource(
        "chat_requests", lambda: _("Chat requests"), chat_request_count, chat_requesters))
