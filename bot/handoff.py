"""Handing a chat to a person from support: presence, the waiting queue, join, reply, close, hand back,
and saving a staff reply as a help-article draft.

The customer's side (asking for a person, writing while one has joined) lives in bot.chat; this module
holds the staff side. Services validate and flush; the caller commits; live events go out after commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from bot.row_ids import parse_row_id
from community import config
from community.customers.services import segments as customer_segments
from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.database import changed_rows
from community.extensions import db
from community.kb.services import MAX_QUESTION, MAX_TITLE, create_article
from community.models import (
    Article,
    ArticleSource,
    ArticleStatus,
    ChatMessage,
    Conversation,
    ConversationStatus,
    StaffPresence,
    User,
    utcnow,
)
from community.models.base import as_utc
from community.notifications.services import notify

# The console sends a heartbeat every HEARTBEAT_SECONDS; a connection silent for longer than
# COKNOW_STAFF_PRESENCE_TIMEOUT (default 90 s) counts as gone (its worker may have died without a disconnect).
HEARTBEAT_SECONDS = 30
PRESENCE_TIMEOUT_SECONDS: int = config.default("COKNOW_STAFF_PRESENCE_TIMEOUT")
HANDED_OFF = (ConversationStatus.waiting_staff, ConversationStatus.with_staff)
STAFF_REPLY_KIND = "chat.staff_reply"
DRAFT_ID_PREFIX = "chat-message:"


class NotJoined(Conflict):
    code = "not_joined"


class ConversationClosed(Conflict):
    code = "conversation_closed"


@dataclass
class QueueItem:
    """One conversation in the console's queue."""

    conversation: Conversation
    customer_name: str
    last_question: str
    waiting_since: datetime
    staff_name: str | None
    # The customer's value segment (None for visitors and customers without a profile).
    segment: str | None = None
    weight: float = 1.0

    @property
    def wait_minutes(self) -> int:
        return max(0, int((utcnow() - self.waiting_since).total_seconds() // 60))


def require_staff(user: User | None) -> User:
    """The user when they are staff, else a clear refusal."""
    if user is None or not user.is_authenticated or not user.is_staff:
        raise Forbidden(_("Only the support team can do this."))
    return user


# Presence ---------------------------------------------------------------------------------------

def _timeout() -> timedelta:
    return timedelta(seconds=int(current_app.config["COKNOW_STAFF_PRESENCE_TIMEOUT"]))


def staff_connected(user: User, sid: str) -> StaffPresence:
    """Record an open console connection; stale rows of crashed workers are swept on the way."""
    require_staff(user)
    now = utcnow()
    db.session.execute(delete(StaffPresence).where(StaffPresence.last_seen_at < now - _timeout()))
    presence = db.session.get(StaffPresence, sid) or StaffPresence(sid=sid, user_id=user.id, connected_at=now)
    presence.last_seen_at = now
    db.session.add(presence)
    db.session.flush()
    return presence


def staff_seen(sid: str) -> bool:
    """The console's heartbeat; False when the row is gone (swept as stale: the caller re-registers)."""
    changed = changed_rows(db.session.execute(
        update(StaffPresence).where(StaffPresence.sid == sid).values(last_seen_at=utcnow())
    ))
    return bool(changed)


def staff_disconnected(sid: str) -> None:
    """Forget a closed console connection."""
    db.session.execute(delete(StaffPresence).where(StaffPresence.sid == sid))


def staff_online() -> bool:
    """Whether anyone from support has the console open right now (across all worker processes)."""
    since = utcnow() - _timeout()
    return bool(db.session.scalar(
        select(func.count()).select_from(StaffPresence).where(StaffPresence.last_seen_at >= since)
    ))


# Queue and transcript ---------------------------------------------------------------------------

def customer_name(conversation: Conversation) -> str:
    """What staff call the customer: their display name, or "Visitor" when anonymous."""
    return conversation.user.display_name if conversation.user is not None else _("Visitor")


def _last_question(conversation_id: int) -> str:
    return db.session.scalar(
        select(ChatMessage.text).where(ChatMessage.conversation_id == conversation_id, ChatMessage.role == "customer")
        .order_by(ChatMessage.id.desc()).limit(1)
    ) or ""


def queue() -> list[QueueItem]:
    """Conversations handed to support and not closed: the most valuable customers' first (by their
    segment's weight), then the longest waiting."""
    conversations = db.session.scalars(
        select(Conversation).where(Conversation.status.in_(HANDED_OFF))
        .order_by(Conversation.handoff_requested_at, Conversation.id)
    ).all()
    segment_of = customer_segments.segments_of(c.user_id for c in conversations)
    weight_of = customer_segments.weights()
    items = [
        QueueItem(c, customer_name(c), _last_question(c.id), as_utc(c.handoff_requested_at or c.created_at),
                  c.staff.display_name if c.staff is not None else None, segment_of.get(c.user_id or 0),
                  weight_of.get(segment_of.get(c.user_id or 0, ""), 1.0))
        for c in conversations
    ]
    # sorted() is stable: equal weights keep the longest-waiting-first order of the query.
    return sorted(items, key=lambda item: -item.weight)


def get_conversation(staff: User | None, public_id: object) -> Conversation:
    """A conversation by its public id, for staff only."""
    require_staff(staff)
    if not isinstance(public_id, str) or not public_id:
        raise ValidationFailed(_("Say which conversation you mean."), {"conversation_id": [_("Required.")]})
    conversation = db.session.scalar(select(Conversation).where(Conversation.public_id == public_id))
    if conversation is None:
        raise NotFound(_("That conversation does not exist."))
    return conversation


def transcript(conversation: Conversation) -> list[ChatMessage]:
    """Every message of the conversation, bot replies included, oldest first."""
    return list(db.session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == conversation.id)
        .options(selectinload(ChatMessage.feedback)).order_by(ChatMessage.id)
    ))


def last_bot_answer(messages: list[ChatMessage]) -> ChatMessage | None:
    """The bot's most recent answer in a transcript: what the customer read before asking for a person."""
    return next((m for m in reversed(messages) if m.role == "bot" and m.reply_kind == "answer"), None)


# Staff actions ----------------------------------------------------------------------------------

def _staff_message(conversation: Conversation, staff: User, kind: str, text: str) -> ChatMessage:
    now = utcnow()
    message = ChatMessage(conversation_id=conversation.id, role="staff", text=text, reply_kind=kind,
                          author_id=staff.id, created_at=now)
    db.session.add(message)
    conversation.last_message_at = now
    db.session.flush()
    return message


def _open_for_staff(conversation: Conversation) -> None:
    if conversation.status is ConversationStatus.closed:
        raise ConversationClosed(_("This conversation is closed."))


def join(staff: User, conversation: Conversation) -> ChatMessage | None:
    """Take the conversation over: the bot stops answering and the customer is told who joined.

    Joining twice is a no-op (None); a conversation someone else has joined is refused.
    """
    require_staff(staff)
    _open_for_staff(conversation)
    if conversation.status is ConversationStatus.with_staff:
        if conversation.staff_id == staff.id:
            return None
        raise Conflict(_("%(name)s is already answering this conversation.",
                         name=conversation.staff.display_name if conversation.staff else _("Someone")))
    conversation.status = ConversationStatus.with_staff
    conversation.staff_id = staff.id
    conversation.staff_joined_at = utcnow()
    if conversation.handoff_requested_at is None:  # joined without the customer asking: it is in the queue now
        conversation.handoff_requested_at = conversation.staff_joined_at
    return _staff_message(conversation, staff, "joined", _("%(name)s from support joined the conversation.",
                                                             name=staff.display_name))


def check_reply_text(text: object) -> str:
    """A staff reply as it will be stored, or a clear error."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed(_("Write a reply before sending."), {"text": [_("The message is empty.")]})
    text = text.strip()
    limit = int(current_app.config["COKNOW_STAFF_REPLY_MAX_CHARS"])
    if len(text) > limit:
        raise ValidationFailed(_("The reply is too long."), {"text": [_("At most %(limit)d characters.", limit=limit)]})
    return text


def reply(staff: User, conversation: Conversation, text: object) -> ChatMessage:
    """A staff member's answer in the customer's chat; a signed-in customer is also notified."""
    require_staff(staff)
    text = check_reply_text(text)
    _open_for_staff(conversation)
    if conversation.status is not ConversationStatus.with_staff or conversation.staff_id != staff.id:
        raise NotJoined(_("Join the conversation before replying."))
    message = _staff_message(conversation, staff, "reply", text)
    if conversation.user_id is not None:
        notify([conversation.user_id], STAFF_REPLY_KIND,
               _("%(name)s from support replied in the chat", name=staff.display_name),
               link="/chat/", body=text[:300], actor=staff)
    return message


def close(staff: User, conversation: Conversation) -> ChatMessage:
    """Resolve the conversation; the customer's next message starts a new one with the bot."""
    require_staff(staff)
    _open_for_staff(conversation)
    message = _staff_message(conversation, staff, "closed", _(
        "%(name)s closed this conversation. If you need anything else, just write here and the support "
        "bot will answer.", name=staff.display_name))
    conversation.status = ConversationStatus.closed
    conversation.closed_at = message.created_at
    return message


def hand_back(staff: User, conversation: Conversation) -> ChatMessage:
    """Give the conversation back to the bot (it answers again; the customer may ask for a person again)."""
    require_staff(staff)
    _open_for_staff(conversation)
    if conversation.status not in HANDED_OFF:
        raise Conflict(_("The bot is already answering this conversation."))
    message = _staff_message(conversation, staff, "handback", _(
        "%(name)s handed this conversation back to the support bot. Ask for a person again at any time.",
        name=staff.display_name))
    conversation.status = ConversationStatus.bot
    conversation.staff_id = None
    conversation.staff_joined_at = None
    conversation.handoff_requested_at = None
    return message


def save_reply_as_draft(staff: User, message_id: object) -> Article:
    """A draft help article from a staff reply: the customer's question as title and question, the reply
    as body. Saving the same reply again returns the draft made the first time."""
    require_staff(staff)
    message_id = parse_row_id(message_id)
    if message_id is None:
        raise ValidationFailed(_("Say which reply you mean."), {"message_id": [_("Must be a number.")]})
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.role != "staff" or message.reply_kind != "reply":
        raise NotFound(_("That is not a staff reply."))
    external_id = f"{DRAFT_ID_PREFIX}{message.id}"
    existing = db.session.scalar(select(Article).where(Article.external_id == external_id))
    if existing is not None:
        return existing
    question = db.session.scalar(
        select(ChatMessage.text).where(ChatMessage.conversation_id == message.conversation_id,
                                       ChatMessage.role == "customer", ChatMessage.id < message.id)
        .order_by(ChatMessage.id.desc()).limit(1)
    )
    if not question:
        raise ValidationFailed(_("The customer asked nothing before this reply, so there is no question to title "
                                 "the article with."))
    title = " ".join(question.split())
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    # A long question becomes a shortened title; the alternative question is kept within its own limit.
    questions = [question.strip() if len(question.strip()) <= MAX_QUESTION else title]
    return create_article(title, message.text, questions=questions, status=ArticleStatus.draft,
                          source=ArticleSource.ticket, author=staff, external_id=external_id)

