"""Chat rules: conversations bound to a session or an account, messages answered by the engine, thumbs.

One way to do each thing: the Socket.IO namespace, the JSON API and the no-script forms all call
these services with plain arguments. Services validate and flush; the caller commits.
"""
from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Table, bindparam, func, insert, or_, select, text, update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from bot import beta as beta_issues
from bot import bugs, capture, idea_requests, kinds, learning
from bot.engine import ConversationContext, Reply, answer, answer_choice
from bot.row_ids import parse_row_id
from community import concurrency, limits, search
from community.webhooks import emit_event, payloads
from community.errors import Conflict, NotFound, RateLimited, ValidationFailed
from community.extensions import db, socketio
from community.models import (
    AnswerFeedback,
    Article,
    ChatMessage,
    Conversation,
    ConversationStatus,
    GapSource,
    User,
    utcnow,
)
from community.models.chat import new_public_id
from community.hooks import CHAT_SESSION_KEY
from community.realtime import after_commit

SESSION_KEY = CHAT_SESSION_KEY
REASONS = ("incorrect", "outdated", "incomplete", "not_my_question")
MAX_COMMENT = 2000
MAX_CLIENT_ID = 64
HISTORY_LIMIT = 200
SUGGEST_MIN_CHARS = 3
SUGGEST_COUNT = 3
# The forum's new-thread form; the chat links there prefilled with the unanswered question.
FORUM_NEW_THREAD = "/forum/new"
MAX_FORUM_TITLE = 200


class EmptyMessage(ValidationFailed):
    code = "empty_message"


class MessageTooLong(ValidationFailed):
    code = "message_too_long"


class ChatRateLimited(RateLimited):
    code = "rate_limited"


@dataclass
class Exchange:
    """A customer message and the bot's reply to it; duplicate when a client re-sent a client_id.

    No reply (None) once a person from support has joined: they answer, live, in their own messages.
    """

    customer: ChatMessage
    reply: ChatMessage | None
    duplicate: bool = False


def reason_labels() -> dict[str, str]:
    """What the thumbs-down reasons are called on screen."""
    return {
        "incorrect": _("Incorrect"),
        "outdated": _("Outdated"),
        "incomplete": _("Incomplete"),
        "not_my_question": _("Not my question"),
    }


def session_key(session: MutableMapping[str, Any]) -> str:
    """The anonymous visitor's chat token, created in their (signed) session on first use."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str) or not key:
        key = secrets.token_urlsafe(24)
        session[SESSION_KEY] = key
    return key


def _open(query):
    return query.where(Conversation.status != ConversationStatus.closed).order_by(
        Conversation.last_message_at.desc(), Conversation.id.desc()
    ).limit(1)


_M = ChatMessage.__table__.c


def _standing_columns() -> tuple[Any, ...]:
    """What a conversation's stored messages decide about a new message (see Standing), as scalar subqueries of
    the conversation row: whether this client_id was stored already (a re-send), how many questions the
    customer asked in the last minute (the rate limit), and the last answered question (a follow-up's context)."""
    of_conversation = _M.conversation_id == Conversation.id
    recent = (of_conversation, _M.role == "customer", _M.created_at >= bindparam("since"))
    last_answered = (of_conversation, _M.role == "bot", _M.question.is_not(None))
    return (
        select(_M.id).where(of_conversation, _M.client_id == bindparam("client_id")).scalar_subquery().label("stored_id"),
        select(func.count(_M.id)).where(*recent).scalar_subquery().label("recent"),
        select(func.min(_M.created_at)).where(*recent).scalar_subquery().label("oldest_recent"),
        *(select(column).where(*last_answered).order_by(_M.id.desc()).limit(1).scalar_subquery().label(name)
          for name, column in (("last_id", _M.id), ("last_question", _M.question), ("last_kind", _M.reply_kind))),
    )


# The statements every chat question runs, built once with bound parameters: built on each call, a
# statement cost 0.37 ms to construct and key for SQLAlchemy's cache; prebuilt, 0.15 ms to run
# (bench/RESULTS.md, session 7, issue 21).
_OPEN_OF_USER = _open(select(Conversation).where(Conversation.user_id == bindparam("user_id")))
_OPEN_OF_KEY = _open(select(Conversation).where(Conversation.session_key == bindparam("key"),
                                                Conversation.user_id.is_(None)))


def _find_statements() -> dict[tuple[Any, bool, bool], Any]:
    """(query, lock, with the standing) -> statement. A new message's one read before the engine is its
    conversation with the standing (one statement; two in session 8, three ORM queries before)."""
    statements = {}
    for query in (_OPEN_OF_USER, _OPEN_OF_KEY):
        for with_standing in (False, True):
            statement = query.add_columns(*_standing_columns()) if with_standing else query
            statements[query, False, with_standing] = statement
            statements[query, True, with_standing] = statement.with_for_update()
    return statements


_FIND = _find_statements()
_BY_CLIENT_ID = select(ChatMessage).where(ChatMessage.conversation_id == bindparam("conversation_id"),
                                          ChatMessage.client_id == bindparam("client_id"))
_FIRST_REPLY = select(ChatMessage).where(ChatMessage.reply_to_id == bindparam("message_id")).order_by(
    ChatMessage.id).limit(1)
_PAYLOAD = select(_M.payload).where(_M.id == bindparam("message_id"))
# A question and its reply are stored with Core INSERT … RETURNING, not the ORM's unit of work: two
# messages and the conversation's last_message_at cost 3.8-5.2 ms of CPU through add-and-flush (with the
# savepoint a client_id needed), 2.0-2.2 ms this way (bench/RESULTS.md, session 8). One statement for every
# message, written out because SQLAlchemy's dialect insert with ON CONFLICT is not cacheable (it was compiled
# again for every question, session 9); the same text runs on SQLite and PostgreSQL:
# - a client_id already stored inserts nothing (ON CONFLICT DO NOTHING; NULLs never conflict): no savepoint, no
#   IntegrityError;
# - the cited article is stored only if it still exists (the index may lag a deletion by a moment): a subquery,
#   not a read of its own.
_MESSAGES: Table = ChatMessage.__table__  # type: ignore[assignment]  # declared as a FromClause
_MESSAGE_COLUMNS = [c for c in _MESSAGES.c if c.key != "id"]


def _insert_value(column_key: str) -> str:
    if column_key == "article_id":
        return f"(SELECT id FROM {Article.__tablename__} WHERE id = :article_id)"  # noqa: S608 (our table's name)
    return f":{column_key}"


_COLUMN_NAMES = ", ".join(f'"{c.name}"' for c in _MESSAGE_COLUMNS)
_VALUES = ", ".join(_insert_value(c.key) for c in _MESSAGE_COLUMNS)
_INSERT_MESSAGE = text(
    # Names and placeholders from our own table's metadata; every value is a bound parameter.
    f"INSERT INTO {_MESSAGES.name} ({_COLUMN_NAMES}) VALUES ({_VALUES}) "  # noqa: S608
    "ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING id, article_id"
).bindparams(*(bindparam(c.key, type_=c.type) for c in _MESSAGE_COLUMNS)).columns(_MESSAGES.c.id, _MESSAGES.c.article_id)
_NO_VALUES = dict.fromkeys(c.key for c in _MESSAGE_COLUMNS)
_CONVERSATIONS: Table = Conversation.__table__  # type: ignore[assignment]
_INSERT_CONVERSATION = insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id)
_TOUCH = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("conversation_id")).values(
    last_message_at=bindparam("now"))


def find_conversation(user: User | None, key: str | None, *, create: bool = False,
                      lock: bool = False, claim: bool | None = None) -> Conversation | None:
    """The visitor's open conversation: the account's when signed in, else the session's.

    A visitor who chatted anonymously and then signs in keeps that conversation unless the account
    already has one open: it joins the account when they next write (claim, the default for create and
    lock); reading (the chat page, its history) only shows it and writes nothing.
    """
    claim = (create or lock) if claim is None else claim
    conversation = _find(user, key, lock=lock, claim=claim).conversation
    if conversation is None and create:
        conversation = _insert_conversation(user.id if user else None, key)
    return conversation


class Opened(NamedTuple):
    """A new message's conversation (None before its first message) and what its messages decide about it."""

    conversation: Conversation | None
    state: Standing | None


def open_for_message(user: User | None, key: str | None, client_id: str | None) -> Opened:
    """What a new message needs first, in one read: the visitor's open conversation, locked and claimed (see
    find_conversation), and what its stored messages decide about the message (see Standing)."""
    return _find(user, key, lock=True, claim=True, client_id=client_id, with_standing=True)


def _find(user: User | None, key: str | None, *, lock: bool, claim: bool, client_id: str | None = None,
          with_standing: bool = False) -> Opened:
    since = utcnow() - timedelta(minutes=1)

    def fetch(query: Any, **params: Any) -> Opened:
        statement = _FIND[query, lock, with_standing]
        if not with_standing:
            return Opened(db.session.scalar(statement, params), None)
        row = db.session.execute(statement, {**params, "since": since, "client_id": client_id}).first()
        if row is None:
            return Opened(None, None)
        return Opened(row[0], Standing(since=since, **{name: row._mapping[name] for name in _STANDING_NAMES}))

    found = Opened(None, None)
    if user is not None:
        found = fetch(_OPEN_OF_USER, user_id=user.id)
    if found.conversation is None and key:
        found = fetch(_OPEN_OF_KEY, key=key)
        if found.conversation is not None and user is not None and claim:
            found.conversation.user_id = user.id
            db.session.flush()
    return found


def _insert_conversation(user_id: int | None, key: str | None) -> Conversation:
    """A new open conversation, stored with Core INSERT … RETURNING (most chats are a first message: the
    unit of work's add-and-flush was a quarter of finding the conversation, session 9) and back in the session
    as if loaded."""
    now = utcnow()
    values: dict[str, Any] = {column.key: None for column in _CONVERSATIONS.c if column.key != "id"}
    values.update(public_id=new_public_id(), user_id=user_id, session_key=key, status=ConversationStatus.bot,
                  created_at=now, last_message_at=now)
    conversation_id = db.session.connection().execute(_INSERT_CONVERSATION, values).scalar_one()
    conversation = Conversation(**values, id=conversation_id)
    make_transient_to_detached(conversation)
    db.session.add(conversation)
    return conversation


def history(user: User | None, conversation: Conversation | None) -> list[ChatMessage]:
    """Messages to show: a signed-in customer's across all their conversations, else this conversation's."""
    query = select(ChatMessage).join(Conversation)
    if user is not None and conversation is not None and conversation.user_id is None:
        # The session's anonymous conversation, shown before it joins the account on the next message.
        query = query.where(or_(Conversation.user_id == user.id, ChatMessage.conversation_id == conversation.id))
    elif user is not None:
        query = query.where(Conversation.user_id == user.id)
    elif conversation is not None:
        query = query.where(ChatMessage.conversation_id == conversation.id)
    else:
        return []
    newest = db.session.scalars(query.order_by(ChatMessage.id.desc()).limit(HISTORY_LIMIT)).all()
    return list(reversed(newest))


def check_text(text: object) -> str:
    """The message as it will be stored, or a clear error: empty or over COKNOW_CHAT_MAX_CHARS."""
    if not isinstance(text, str):
        raise ValidationFailed(_("Send the message as text."), {"text": [_("Must be text.")]})
    text = text.strip()
    if not text:
        raise EmptyMessage(_("Type a question before sending."), {"text": [_("The message is empty.")]})
    limit = int(current_app.config["COKNOW_CHAT_MAX_CHARS"])
    if len(text) > limit:
        raise MessageTooLong(
            _("Your message is %(n)d characters long; the limit is %(limit)d. Please shorten it.",
              n=len(text), limit=limit),
            {"text": [_("At most %(limit)d characters.", limit=limit)]},
        )
    return text


def check_client_id(client_id: object) -> str | None:
    """An optional idempotency token chosen by the client."""
    if client_id is None or client_id == "":
        return None
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID:
        raise ValidationFailed(_("The message id is not valid."),
                               {"client_id": [_("At most %(n)d characters.", n=MAX_CLIENT_ID)]})
    return client_id


@dataclass(frozen=True)
class Standing:
    """What the conversation's stored messages decide about a new one (read with the conversation: open_for_message)."""

    stored_id: int | None  # the customer message already stored under this client_id
    recent: int  # the customer's messages in the last minute
    oldest_recent: datetime | None
    since: datetime
    last_id: int | None  # the last bot message that answered a question
    last_question: str | None
    last_kind: str | None


_STANDING_NAMES = ("stored_id", "recent", "oldest_recent", "last_id", "last_question", "last_kind")


def check_rate(state: Standing) -> None:
    """At most COKNOW_CHAT_RATE_PER_MINUTE customer messages a minute, counted in the database
    so the limit holds across worker processes."""
    limit = int(current_app.config["COKNOW_CHAT_RATE_PER_MINUTE"])
    if state.recent >= limit:
        wait = 60
        oldest = state.oldest_recent
        if oldest is not None:
            if oldest.tzinfo is None:  # SQLite returns naive UTC
                oldest = oldest.replace(tzinfo=state.since.tzinfo)
            wait = max(1, int((oldest - state.since).total_seconds()) + 1)
        raise ChatRateLimited(
            _("You're sending messages faster than %(limit)d a minute. Please wait %(n)d seconds and try again.",
              limit=limit, n=wait)
        )


def conversation_context(state: Standing) -> ConversationContext:
    """What the engine needs from earlier turns, from what the stored messages decide (open_for_message)."""
    if state.last_id is None:
        return ConversationContext()
    context = ConversationContext(previous_question=state.last_question)
    if state.last_kind == "clarify":
        payload = db.session.scalar(_PAYLOAD, {"message_id": state.last_id}) or {}
        context.pending_question = state.last_question
        context.pending_choices = tuple(c["key"] for c in payload.get("choices", []))
    return context


def _existing(conversation: Conversation, client_id: str | None) -> Exchange:
    """The exchange already stored under client_id (the caller saw it there)."""
    customer = db.session.scalar(_BY_CLIENT_ID, {"conversation_id": conversation.id, "client_id": client_id})
    assert customer is not None
    # None when the message went to a person from support (a half-stored exchange cannot happen: one transaction).
    reply = db.session.scalar(_FIRST_REPLY, {"message_id": customer.id})
    return Exchange(customer, reply, duplicate=True)


def _cited_article_id(reply: Reply) -> int | None:
    if reply.source is None or reply.source.source_type != "article":
        return None
    try:
        return int(reply.source.source_id)
    except ValueError:
        return None


def _insert_message(conversation: Conversation, **values: Any) -> ChatMessage | None:
    """Store one message of the conversation; None when its client_id is stored already. The message comes
    back in the session as if just loaded, every column as stored."""
    values = {**_NO_VALUES, **values, "conversation_id": conversation.id}
    row = db.session.connection().execute(_INSERT_MESSAGE, values).one_or_none()
    if row is None:
        return None
    message = ChatMessage(**{**values, "id": row.id, "article_id": row.article_id})
    make_transient_to_detached(message)
    db.session.add(message)
    set_committed_value(message, "conversation", conversation)
    set_committed_value(message, "feedback", None)  # a new message has none: rendering it needs no query
    return message


def _touch(conversation: Conversation, now: datetime) -> None:
    db.session.connection().execute(_TOUCH, {"conversation_id": conversation.id, "now": now})
    set_committed_value(conversation, "last_message_at", now)


def _store(conversation: Conversation, text: str, client_id: str | None, reply: Reply | None,
           message_kind: str | None = None) -> Exchange:
    now = utcnow()
    customer = _insert_message(conversation, role="customer", text=text, client_id=client_id,
                               message_kind=message_kind, created_at=now)
    if customer is None:
        # Another worker stored the same client_id between our check and our insert.
        return _existing(conversation, client_id)
    _touch(conversation, now)
    if reply is None:  # a person from support answers
        tell_console(conversation, [customer])
        return Exchange(customer, None)
    bot = _insert_message(
        conversation, role="bot", text=reply.text, reply_to_id=customer.id, reply_kind=reply.kind,
        question=reply.question,
        source_type=reply.source.source_type if reply.source else None,
        source_id=reply.source.source_id if reply.source else None,
        article_id=_cited_article_id(reply), confidence=reply.confidence, payload=reply.to_dict(),
        latency_ms=round(reply.latency_ms, 2), message_kind=message_kind, created_at=now,
    )
    assert bot is not None  # a reply has no client_id: nothing to collide with
    if idea_requests.records_gap(reply.kind):
        # The loop starts here: what the bot could not answer becomes a tracked gap.
        capture.record_gap(reply.question, GapSource.abstain, user=conversation.user,
                           conversation_id=conversation.id, message_id=bot.id, vector=reply.query_vector)
    if conversation.status is ConversationStatus.waiting_staff:
        tell_console(conversation, [customer, bot])
    return Exchange(customer, bot)


def check_sender_rate(user: User | None, address: str) -> None:
    """Limit messages per account and per address too: a cookie-less client gets a new conversation per
    message, and so escaped the per-conversation limit (check_rate) entirely."""
    per_minute = int(current_app.config.get("COKNOW_CHAT_RATE_PER_MINUTE", 12))
    per_address = int(current_app.config.get("COKNOW_CHAT_RATE_PER_ADDRESS", 30))
    try:
        if user is not None:
            limits.consume(f"{per_minute} per minute", "chat-user", f"user:{user.id}")
        limits.consume(f"{per_address} per minute", "chat-address", f"addr:{address}")
    except RateLimited as refused:  # translated only when it is said (every message paid for it, issue 21)
        raise RateLimited(_("You are sending messages too quickly. Please wait a moment."),
                          retry_after=refused.retry_after) from None


def send_message(user: User | None, key: str | None, text: object, client_id: object = None,
                 opened: Opened | None = None) -> Exchange:
    """Store the customer's message, its kind and the bot's reply (answer, clarify, abstain; a feature
    request's idea or the idea form; a bug report acknowledged); once a person from support has joined,
    only the message and its kind (the bot stays quiet). opened: when the caller has already read it
    (open_for_message, with this client_id)."""
    text = check_text(text)
    client_id = check_client_id(client_id)
    conversation, state = opened or open_for_message(user, key, client_id)
    context = ConversationContext()
    if conversation is not None:
        assert state is not None
        if state.stored_id is not None:
            return _existing(conversation, client_id)
        check_rate(state)
        if conversation.status is ConversationStatus.with_staff:
            return _store(conversation, text, client_id, None, kinds.classify_text(text))
        context = conversation_context(state)
    reply = answer(text, context)
    concurrency.let_others_run()  # questions that arrived meanwhile are admitted or refused before this one writes
    # From the vector the engine already computed: recognising the kind costs no second encode.
    kind = kinds.classify(reply.question or text, reply.query_vector)
    # A tester's own build first: a known issue of their program answers before the help center.
    known = beta_issues.known_issue_reply(user, text)
    if known is None:
        reply = bugs.acknowledge(idea_requests.meet_ideas(reply, kind), kind, user, text)
    if conversation is None:
        # A first message starts its conversation only once answered: on SQLite the new row takes the
        # database's write lock, which was then held while the engine worked, and every other first
        # message of the process waited for it (issue 21).
        conversation = find_conversation(user, key, create=True, lock=True)
        assert conversation is not None
    return _store(conversation, text, client_id, known or reply, kind)


def choose(user: User | None, key: str | None, choice: object, message_id: object,
           client_id: object = None, opened: Opened | None = None) -> Exchange:
    """Answer a clarify's pending question with the document the customer picked (opened: when the caller
    has already read it, open_for_message with this client_id)."""
    client_id = check_client_id(client_id)
    conversation, state = opened or open_for_message(user, key, client_id)
    clarify = _bot_message(conversation, message_id)
    if clarify.reply_kind != "clarify":
        # 409: the request is well-formed; the message it names is not in a state that allows it.
        raise Conflict(_("That message did not offer choices."), {"message_id": [_("Not a question.")]})
    choices = {c["key"]: c for c in (clarify.payload or {}).get("choices", [])}
    if not isinstance(choice, str) or choice not in choices:
        raise ValidationFailed(_("Pick one of the suggested articles."), {"choice": [_("Not one of the choices.")]})
    assert conversation is not None and state is not None
    if state.stored_id is not None:
        return _existing(conversation, client_id)
    check_rate(state)
    if conversation.status is ConversationStatus.with_staff:
        raise Conflict(_("A person from support is answering this conversation now: ask them here."))
    context = ConversationContext(previous_question=clarify.question, pending_question=clarify.question,
                                  pending_choices=tuple(choices))
    reply = answer_choice(choice, context)
    return _store(conversation, choices[choice]["title"], client_id, reply)


def _bot_message(conversation: Conversation | None, message_id: object) -> ChatMessage:
    message_id = parse_row_id(message_id)
    if message_id is None:
        raise ValidationFailed(_("Say which message you mean."), {"message_id": [_("Must be a number.")]})
    message = db.session.get(ChatMessage, message_id)
    # Someone else's message answers exactly like a missing one.
    if message is None or conversation is None or message.conversation_id != conversation.id or message.role != "bot":
        raise NotFound(_("That message is not part of your conversation."))
    return message


def record_feedback(user: User | None, key: str | None, message_id: object, helpful: object,
                    reason: object = None, comment: object = "") -> AnswerFeedback:
    """Thumbs up or down on a bot answer, with a reason for a thumbs-down; a second vote replaces the first."""
    conversation = find_conversation(user, key, claim=True)
    message = _bot_message(conversation, message_id)
    if message.reply_kind != "answer":
        raise Conflict(_("Only answers can be rated."), {"message_id": [_("Not an answer.")]})
    if not isinstance(helpful, bool):
        raise ValidationFailed(_("Say whether the answer helped."), {"helpful": [_("Must be true or false.")]})
    if reason in ("", None) or helpful:
        reason = None
    elif reason not in REASONS:
        raise ValidationFailed(_("Choose one of the listed reasons."), {"reason": [_("Unknown reason.")]})
    comment = "" if comment is None else comment
    if not isinstance(comment, str):
        raise ValidationFailed(_("The comment must be text."), {"comment": [_("Must be text.")]})
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(_("The comment is too long."), {"comment": [_("At most %(n)d characters.", n=MAX_COMMENT)]})
    feedback = db.session.scalar(select(AnswerFeedback).where(AnswerFeedback.message_id == message.id))
    if feedback is None:
        feedback = AnswerFeedback(message_id=message.id)
        db.session.add(feedback)
    feedback.helpful = helpful
    feedback.reason = reason
    feedback.comment = comment
    feedback.question = message.question or ""
    feedback.article_id = message.article_id
    feedback.user_id = user.id if user else None
    feedback.created_at = utcnow()
    db.session.flush()
    if helpful and message.article_id is not None and message.question:
        # A confirmed answer teaches the article this wording (staff can remove it in the editor).
        article = db.session.get(Article, message.article_id)
        if article is not None:
            learning.learn_question(article, message.question)
    if not helpful:
        capture.record_thumbs_down(message.question or "", user=user, conversation_id=message.conversation_id,
                                   message_id=message.id)
    return feedback


def request_handoff(user: User | None, key: str | None) -> ChatMessage:
    """Flag the conversation for a person from support and tell the customer plainly what happens next:
    someone joins shortly when support is online, else it waits as a ticket answered in this chat."""
    conversation = find_conversation(user, key, create=True, lock=True)
    assert conversation is not None
    if conversation.handoff_requested_at is not None:
        existing = db.session.scalar(select(ChatMessage).where(
            ChatMessage.conversation_id == conversation.id, ChatMessage.reply_kind == "handoff",
        ).order_by(ChatMessage.id.desc()).limit(1))
        if existing is not None:
            return existing
    now = utcnow()
    conversation.handoff_requested_at = now
    conversation.status = ConversationStatus.waiting_staff
    conversation.last_message_at = now
    from bot.handoff import staff_online

    if staff_online():
        text = _("I've asked our support team to take over. A person will join here shortly: stay in this chat "
                 "and they'll see everything you've written so far.")
    elif user is not None:
        text = _("Nobody from our support team is online right now, so your question is saved as a ticket. "
                 "A person will reply in this conversation, and you'll get a notification when they do. "
                 "Outside support hours this can take until the next working day.")
    else:
        text = _("Nobody from our support team is online right now, so your question is saved as a ticket. "
                 "A person will reply in this conversation; come back to this chat in this browser to read it "
                 "(or sign in now, and you'll also get a notification). Outside support hours this can take "
                 "until the next working day.")
    message = ChatMessage(conversation_id=conversation.id, role="bot", text=text, reply_kind="handoff", created_at=now)
    db.session.add(message)
    db.session.flush()
    tell_console(conversation, [message])
    emit_event("conversation.handed_off", payloads.conversation(conversation))
    return message


CONSOLE_NAMESPACE = "/console"
CONSOLE_ROOM = "console"


def tell_console(conversation: Conversation, messages: list[ChatMessage]) -> None:
    """After commit, tell every open staff console that a handed-off conversation changed (its queue
    and, when open, its transcript), with the new messages as data."""
    payload = {"conversation_id": conversation.public_id, "status": conversation.status.value,
               "messages": [message_dict(m) for m in messages]}
    after_commit(lambda: socketio.emit("changed", payload, to=CONSOLE_ROOM, namespace=CONSOLE_NAMESPACE))


def suggest_articles(text: object) -> list[dict[str, str]]:
    """Help articles matching what the customer is still typing (nothing is stored)."""
    if not isinstance(text, str):
        return []
    text = text.strip()[: int(current_app.config["COKNOW_CHAT_MAX_CHARS"])]
    if len(text) < SUGGEST_MIN_CHARS:
        return []
    hits = search.search_documents(text, k=SUGGEST_COUNT, source_types=["article"],
                                   filters={"visibility": "public"})
    return [{"title": h.title, "url": h.meta.get("url", "")} for h in hits if h.meta.get("url")]


def ask_community_url(question: str, message_id: int | None = None) -> str:
    """The forum's new-thread form, prefilled with the question the bot could not answer; with the bot
    message, the forum prefills from it (and links the thread to its gap) once it checks the message is
    the poster's."""
    url = f"{FORUM_NEW_THREAD}?title={quote(question[:MAX_FORUM_TITLE], safe='')}"
    return url if message_id is None else f"{url}&from_message={message_id}"


def message_dict(message: ChatMessage) -> dict[str, Any]:
    """JSON-ready form of a stored message (socket acknowledgements, history and the HTTP API)."""
    data: dict[str, Any] = {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "kind": message.reply_kind,
        "message_kind": message.message_kind,
        "client_id": message.client_id,
        "created_at": message.created_at.isoformat(),
    }
    if message.role == "staff":
        data["author"] = message.author.display_name if message.author is not None else None
    if message.role == "bot":
        data["reply"] = message.payload
        feedback = message.feedback
        data["feedback"] = None if feedback is None else {"helpful": feedback.helpful, "reason": feedback.reason}
        if idea_requests.records_gap(message.reply_kind) or (feedback is not None and not feedback.helpful):
            # After a thumbs-down too: peers can correct the bot's answer.
            data["ask_community_url"] = ask_community_url(message.question or "", message.id)
    return data
