"""The chat over HTTP (/api/v1/chat): the same services and replies as the Socket.IO namespace,
for clients without WebSockets. The conversation is bound to the session cookie or the account."""
from __future__ import annotations

from typing import Callable

from flask import session
from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema, fields, validate

from bot import chat
from bot import idea_requests
from bot.admission import admitted
from bot.events import announce, conversation_room
from bot.views import exchange_payload, message_payload
from community.api import NOT_BLANK, Blueprint
from community.database import MAX_ROW_ID
from community.extensions import db
from community.viewhelpers import commit_or_rollback
from community.limits import client_address

blp = Blueprint("api_chat", __name__, url_prefix="/chat", description="Support chat with the bot")


# Ids beyond the database's integer range cannot exist: refused naming the field, before any query.
ROW_ID = validate.Range(min=0, max=MAX_ROW_ID)


class MessageIn(Schema):
    # The document says what the service accepts: some text that is not only spaces, within the limit.
    # Declared, not validated here: the service refuses with its own codes (empty_message, message_too_long).
    text = fields.String(required=True, metadata={"description": "The question, plain text (not only spaces; at most "
                                                                 "COKNOW_CHAT_MAX_CHARS characters, 1000 by default)",
                                                  "pattern": NOT_BLANK, "maxLength": 1000})
    client_id = fields.String(load_default=None, allow_none=True,
                              metadata={"description": "Idempotency token: re-sending it returns the stored reply"})


class ChoiceIn(Schema):
    choice = fields.String(required=True, metadata={"description": "Document key offered by a clarify reply"})
    message_id = fields.Integer(required=True, strict=True, validate=ROW_ID)
    client_id = fields.String(load_default=None, allow_none=True)


class FeedbackIn(Schema):
    message_id = fields.Integer(required=True, strict=True, validate=ROW_ID)
    helpful = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True,
                           metadata={"description": "incorrect, outdated, incomplete or not_my_question"})
    comment = fields.String(load_default="")


class SuggestIn(Schema):
    q = fields.String(load_default="")


class IdeaActionIn(Schema):
    idea_id = fields.Integer(required=True, strict=True, validate=ROW_ID, metadata={"description": "The idea a reply offered"})


class IdeaActionOut(Schema):
    idea = fields.Dict(metadata={"description": "id, title, status, status_label, vote_count, follower_count, url"})
    changed = fields.Boolean(metadata={"description": "False when you had already voted / followed"})
    voted = fields.Boolean()
    following = fields.Boolean()


class MessageOut(Schema):
    id = fields.Integer()
    role = fields.String()
    text = fields.String()
    kind = fields.String(allow_none=True)
    message_kind = fields.String(allow_none=True, metadata={
        "description": "What the customer's message was: question, feature_request, bug_report or other"})
    client_id = fields.String(allow_none=True)
    created_at = fields.String()
    reply = fields.Dict(allow_none=True, metadata={"description": "The engine's reply (bot messages)"})
    feedback = fields.Dict(allow_none=True)
    ask_community_url = fields.String()
    author = fields.String(allow_none=True, metadata={"description": "Staff messages: who from support wrote it"})
    html = fields.String(metadata={"description": "The message rendered safely for the web chat"})


class ExchangeOut(Schema):
    conversation_id = fields.String()
    customer = fields.Nested(MessageOut)
    reply = fields.Nested(MessageOut, allow_none=True, metadata={
        "description": "The bot's reply; null once a person from support has joined the conversation "
                       "(their replies arrive as messages of role staff)"})
    duplicate = fields.Boolean()


class HistoryOut(Schema):
    conversation_id = fields.String(allow_none=True)
    messages = fields.List(fields.Nested(MessageOut))


class FeedbackOut(Schema):
    message_id = fields.Integer()
    helpful = fields.Boolean()
    reason = fields.String(allow_none=True)


class HandoffOut(Schema):
    reply = fields.Nested(MessageOut)


class Suggestion(Schema):
    title = fields.String()
    url = fields.String()


class SuggestOut(Schema):
    articles = fields.List(fields.Nested(Suggestion))


def _who():
    return (current_user if current_user.is_authenticated else None), chat.session_key(session)


def _answered(act: Callable[[], chat.Exchange]) -> tuple[dict, int]:
    """Run a chat exchange and commit; its payload goes to the conversation's other tabs after commit."""
    def run() -> tuple[dict, int]:
        exchange = act()
        payload = exchange_payload(exchange)
        if not exchange.duplicate:
            announce(conversation_room(exchange.customer.conversation_id), payload)
        return payload, 200 if exchange.duplicate else 201

    return commit_or_rollback(run)


@blp.route("/messages")
class Messages(MethodView):
    @blp.arguments(MessageIn)
    @blp.response(201, ExchangeOut)
    @blp.alt_response(200, schema=ExchangeOut, description="The client_id was sent before: the stored reply")
    @blp.alt_response(422, description="Empty, too long or malformed message (nothing stored)")
    @blp.alt_response(429, description="Too many messages this minute (nothing stored)")
    @blp.alt_response(503, description="The bot is busy: try again after Retry-After seconds (nothing stored)")
    def post(self, data):
        """Send a question; the bot answers, clarifies or says it can't (or, once a person from support
        has joined, stays quiet: reply is null)."""
        user, key = _who()
        with admitted():
            chat.check_sender_rate(user, client_address())
            return _answered(lambda: chat.send_message(user, key, data["text"], data["client_id"]))

    @blp.response(200, HistoryOut)
    def get(self):
        """The conversation so far (a signed-in customer's across devices)."""
        user, key = _who()
        conversation = chat.find_conversation(user, key)
        messages = chat.history(user, conversation)
        return {"conversation_id": conversation.public_id if conversation else None,
                "messages": [message_payload(m) for m in messages]}


@blp.route("/choices")
class Choices(MethodView):
    @blp.arguments(ChoiceIn)
    @blp.response(201, ExchangeOut)
    @blp.alt_response(404, description="Not a message of your conversation")
    @blp.alt_response(422, description="Not one of the offered choices")
    @blp.alt_response(409, description="A person from support is answering this conversation")
    @blp.alt_response(503, description="The bot is busy: try again after Retry-After seconds (nothing stored)")
    def post(self, data):
        """Pick one of a clarify reply's articles; the bot answers the pending question with it."""
        user, key = _who()
        with admitted():
            chat.check_sender_rate(user, client_address())
            return _answered(lambda: chat.choose(user, key, data["choice"], data["message_id"], data["client_id"]))


@blp.route("/feedback")
class Feedback(MethodView):
    @blp.arguments(FeedbackIn)
    @blp.response(200, FeedbackOut)
    @blp.alt_response(404, description="Not a message of your conversation")
    def post(self, data):
        """Thumbs up or down on an answer (a second vote replaces the first)."""
        user, key = _who()
        feedback = commit_or_rollback(lambda: chat.record_feedback(user, key, data["message_id"], data["helpful"],
                                                                   data["reason"], data["comment"]))
        return {"message_id": feedback.message_id, "helpful": feedback.helpful, "reason": feedback.reason}


@blp.route("/handoff")
class Handoff(MethodView):
    @blp.response(201, HandoffOut)
    def post(self):
        """Ask for a person from support to take over this conversation (at any time; asking again
        returns the first answer). The reply says what happens next: someone joins shortly, or a ticket."""
        user, key = _who()
        def ask() -> dict:
            message = chat.request_handoff(user, key)
            db.session.flush()  # the payload carries the message's id
            return {"reply": message_payload(message)}

        return commit_or_rollback(ask)


@blp.route("/suggestions")
class Suggestions(MethodView):
    @blp.arguments(SuggestIn, location="query")
    @blp.response(200, SuggestOut)
    def get(self, args):
        """Help articles for what the customer is still typing (nothing is stored)."""
        return {"articles": chat.suggest_articles(args["q"])}


def _idea_action(act) -> dict:
    user, _key = _who()
    return commit_or_rollback(lambda: act(user).to_dict())


@blp.route("/ideas/vote")
class IdeaVote(MethodView):
    @blp.arguments(IdeaActionIn)
    @blp.response(200, IdeaActionOut)
    @blp.alt_response(401, description="Not signed in")
    @blp.alt_response(404, description="No such idea")
    @blp.alt_response(409, description="Voting on the idea is closed")
    def post(self, data):
        """Vote for the idea a feature-request reply offered (a repeat vote changes nothing)."""
        return _idea_action(lambda user: idea_requests.vote_from_chat(user, data["idea_id"]))


@blp.route("/ideas/follow")
class IdeaFollow(MethodView):
    @blp.arguments(IdeaActionIn)
    @blp.response(200, IdeaActionOut)
    @blp.alt_response(401, description="Not signed in")
    @blp.alt_response(404, description="No such idea")
    def post(self, data):
        """Follow the idea a feature-request reply offered (following twice changes nothing)."""
        return _idea_action(lambda user: idea_requests.follow_from_chat(user, data["idea_id"]))
