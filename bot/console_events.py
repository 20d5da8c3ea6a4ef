"""Socket.IO namespace /console: the staff side of handed-off chats, every event acknowledged.

Only staff may connect. Each open console is a row of staff_presence (so every worker process knows
whether someone is online) and a member of the "console" room, which hears about every change to a
handed-off conversation ("changed"). Staff actions reach the customer's chat through its conv:<id> room.
"""
from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_login import current_user
from flask_socketio import Namespace, join_room

from bot import chat, handoff
from bot.acks import acknowledged, require_fields
from bot.events import announce, conversation_room
from bot.views import message_payload
from community.auth.sessions import join_session_room
from community.customers.services.segments import segment_and_weight
from community.realtime import socket_sid
from community.viewhelpers import commit_or_rollback
from community.extensions import db
from community.models import ChatMessage, Conversation, CustomerProfile


def _staff():
    return handoff.require_staff(current_user)


def queue_payload() -> dict[str, Any]:
    """The waiting conversations as the console shows them."""
    items = handoff.queue()
    return {"html": render_template("support/_queue.html", items=items), "count": len(items)}


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    """One conversation's state and transcript as the console shows them."""
    messages = handoff.transcript(conversation)
    return {
        "conversation_id": conversation.public_id,
        "status": conversation.status.value,
        "html": render_template("support/_conversation.html", conversation=conversation,
                                messages=messages, last_answer=handoff.last_bot_answer(messages),
                                reasons=chat.reason_labels(),
                                customer_name=handoff.customer_name(conversation),
                                segment=segment_and_weight(conversation.user_id)[0],
                                profile=db.session.get(CustomerProfile, conversation.user_id)
                                if conversation.user_id else None),
    }


def _tell_customer(message: ChatMessage) -> None:
    """After commit, show a staff message in every open window of the customer's chat."""
    payload = {"conversation_id": message.conversation.public_id, "customer": None,
               "reply": message_payload(message), "duplicate": False}
    announce(conversation_room(message.conversation_id), payload)


class ConsoleNamespace(Namespace):
    """The live staff console."""

    def on_connect(self, auth=None):
        if not current_user.is_authenticated or not current_user.is_staff:
            return False  # refused: customers and visitors never hear about other people's chats
        commit_or_rollback(lambda: handoff.staff_connected(current_user, socket_sid()))
        join_room(chat.CONSOLE_ROOM)
        join_session_room(current_user)  # closed when this login session ends
        return None

    def on_disconnect(self, reason=None):
        commit_or_rollback(lambda: handoff.staff_disconnected(socket_sid()))

    @acknowledged
    def on_heartbeat(self, data=None):
        staff = _staff()
        if not handoff.staff_seen(socket_sid()):  # swept as stale during a long pause: count it again
            handoff.staff_connected(staff, socket_sid())
        return {}

    @acknowledged
    def on_queue(self, data=None):
        _staff()
        return queue_payload()

    @acknowledged
    def on_open(self, data=None):
        data = require_fields(data, "conversation_id")
        conversation = handoff.get_conversation(_staff(), data["conversation_id"])
        return conversation_payload(conversation)

    @acknowledged
    def on_join(self, data=None):
        return self._act(data, handoff.join)

    @acknowledged
    def on_reply(self, data=None):
        data = require_fields(data, "conversation_id", "text")
        return self._act(data, lambda staff, conversation: handoff.reply(staff, conversation, data["text"]))

    @acknowledged
    def on_close(self, data=None):
        return self._act(data, handoff.close)

    @acknowledged
    def on_hand_back(self, data=None):
        return self._act(data, handoff.hand_back)

    @acknowledged
    def on_save_draft(self, data=None):
        data = require_fields(data, "message_id")
        article = handoff.save_reply_as_draft(_staff(), data["message_id"])
        return {"article_id": article.id, "url": url_for("kb.edit_article", article_id=article.id)}

    def _act(self, data: object, action) -> dict[str, Any]:
        """Run a staff action on a conversation, then tell the customer and every console."""
        data = require_fields(data, "conversation_id")
        staff = _staff()
        conversation = handoff.get_conversation(staff, data["conversation_id"])
        message = action(staff, conversation)
        if message is not None:
            _tell_customer(message)
            chat.tell_console(conversation, [message])
        return conversation_payload(conversation)


def register(socketio) -> None:
    """Attach the namespace to the current Socket.IO server."""
    socketio.on_namespace(ConsoleNamespace(chat.CONSOLE_NAMESPACE))
