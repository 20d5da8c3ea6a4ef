"""Socket.IO namespace /chat: the support chat, every event answered with an acknowledgement.

Handlers are thin like views: check the payload's shape, call bot.chat, commit, acknowledge
{ok: true, ...} or {ok: false, error: {code, message, fields}} (and then nothing is stored).
"""
from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any, Callable

from flask import Flask, request, session
from flask_babel import force_locale, get_locale
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from bot import admission, chat, idea_requests
from bot.acks import acknowledged, failure, require_fields
from bot.admission import ChatBusy
from bot.views import exchange_payload, message_payload
from community.auth.sessions import join_session_room
from community.limits import client_address
from community.realtime import after_commit, join_room_while_connected, reaches_others, socket_sid
from community.extensions import db, socketio
from community.models import Conversation, ConversationStatus

log = logging.getLogger(__name__)
CHAT_NAMESPACE = "/chat"


def conversation_room(conversation_id: int) -> str:
    """The room of every open chat window of one conversation (tabs, devices)."""
    return f"conv:{conversation_id}"


def announce(room: str, payload: dict[str, Any], skip_sid: str | None = None) -> None:
    """After commit, show new messages in the conversation's other windows (tabs, devices, the launcher)."""
    def send() -> None:
        if reaches_others(room, CHAT_NAMESPACE, skip_sid):
            socketio.emit("messages", payload, to=room, namespace=CHAT_NAMESPACE, skip_sid=skip_sid)

    after_commit(send)


def _user():
    return current_user if current_user.is_authenticated else None


def _key() -> str:
    # The socket's copy of the Flask session; the page that opened the socket already stored the key.
    return chat.session_key(session)


# Events answered by the engine: they take a turn in the process's admission line (bot.admission).
ANSWERED_EVENTS = frozenset({"message", "choose"})
# The socket's interface language, read at connect: a refusal is acknowledged in it without building the
# event's request context (the session, the user, the locale: most of what a refusal cost, issue 21).
_LOCALE = "coknow.chat_locale"
_BUSY_ACKS = "coknow_chat_busy_acks"


def busy_ack(app: Flask, locale: str | None) -> dict[str, Any]:
    """The "busy, try again in a moment" acknowledgement in locale, made once per language."""
    acks: dict[str | None, dict[str, Any]] = app.extensions.setdefault(_BUSY_ACKS, {})
    ack = acks.get(locale)
    if ack is None:
        with app.app_context(), (force_locale(locale) if locale else nullcontext()):
            ack = acks[locale] = failure(ChatBusy())
    return ack


class ChatNamespace(Namespace):
    """The customer's side of the support chat."""

    def trigger_event(self, event, *args):
        """A question or a choice is answered inside the process's admission line (reading, the engine, the
        commit); when the line is full it is acknowledged "busy, try again in a moment" at once, before
        anything is read, counted or stored."""
        environ = self.socketio.server.get_environ(args[0], namespace=self.namespace) if args else None
        if event not in ANSWERED_EVENTS or not environ:
            return super().trigger_event(event, *args)
        app = environ["flask.app"]
        try:
            with admission.for_app(app).admit():
                return super().trigger_event(event, *args)
        except ChatBusy:
            return busy_ack(app, environ.get(_LOCALE))

    def on_connect(self, auth=None):
        request.environ[_LOCALE] = str(get_locale())
        join_session_room(current_user)  # closed when this login session ends
        conversation = chat.find_conversation(_user(), _key())
        if conversation is not None:
            join_room(conversation_room(conversation.id))

    @acknowledged
    def on_history(self, data=None):
        conversation = chat.find_conversation(_user(), _key())
        messages = chat.history(_user(), conversation)
        return {"conversation_id": conversation.public_id if conversation else None,
                "messages": [message_payload(m) for m in messages]}

    @acknowledged
    def on_message(self, data=None):
        data = require_fields(data, "text")
        chat.check_text(data["text"])
        client_id = chat.check_client_id(data.get("client_id"))
        chat.check_sender_rate(_user(), client_address())
        opened = chat.open_for_message(_user(), _key(), client_id)
        return self._answering(opened.conversation, lambda: chat.send_message(
            _user(), _key(), data["text"], client_id, opened=opened))

    @acknowledged
    def on_choose(self, data=None):
        data = require_fields(data, "choice", "message_id")
        client_id = chat.check_client_id(data.get("client_id"))
        chat.check_sender_rate(_user(), client_address())
        opened = chat.open_for_message(_user(), _key(), client_id)
        return self._answering(opened.conversation, lambda: chat.choose(
            _user(), _key(), data["choice"], data["message_id"], client_id, opened=opened))

    @acknowledged
    def on_feedback(self, data=None):
        data = require_fields(data, "message_id", "helpful")
        feedback = chat.record_feedback(_user(), _key(), data["message_id"], data["helpful"],
                                        data.get("reason"), data.get("comment", ""))
        return {"feedback": {"message_id": feedback.message_id, "helpful": feedback.helpful,
                             "reason": feedback.reason}}

    @acknowledged
    def on_handoff(self, data=None):
        message = chat.request_handoff(_user(), _key())
        db.session.flush()
        join_room_while_connected(conversation_room(message.conversation_id))
        return {"reply": message_payload(message)}

    @acknowledged
    def on_idea_vote(self, data=None):
        data = require_fields(data, "idea_id")
        return idea_requests.vote_from_chat(_user(), data["idea_id"]).to_dict()

    @acknowledged
    def on_idea_follow(self, data=None):
        data = require_fields(data, "idea_id")
        return idea_requests.follow_from_chat(_user(), data["idea_id"]).to_dict()

    def on_suggest(self, data=None):
        text = data.get("text") if isinstance(data, dict) else None
        try:
            return {"articles": chat.suggest_articles(text)}
        except Exception:  # suggestions are a convenience: never an error in the customer's face
            log.exception("chat suggestions failed")
            return {"articles": []}

    def _answering(self, conversation: Conversation | None, act: Callable[[], chat.Exchange]) -> dict[str, Any]:
        """Show the typing indicator in the conversation's other windows while the engine works."""
        # The asking window shows its own indicator from the moment it sends (static/js/chat.js): telling it
        # too cost two more packets per question (issue 21). A first message has no conversation: no others.
        # Once a person from support has joined, the bot is not the one about to answer.
        others = (conversation_room(conversation.id) if conversation is not None
                  and conversation.status is not ConversationStatus.with_staff else None)
        if others and not reaches_others(others, CHAT_NAMESPACE, socket_sid()):
            others = None
        if others:
            emit("typing", {"typing": True}, to=others, skip_sid=socket_sid())
        try:
            exchange = act()
        finally:
            if others:
                emit("typing", {"typing": False}, to=others, skip_sid=socket_sid())
        room = conversation_room(exchange.customer.conversation_id)
        join_room_while_connected(room)
        payload = exchange_payload(exchange)
        if not exchange.duplicate:
            announce(room, payload, skip_sid=socket_sid())
        return payload


def register(socketio) -> None:
    """Attach the namespace to the current Socket.IO server."""
    socketio.on_namespace(ChatNamespace(CHAT_NAMESPACE))
