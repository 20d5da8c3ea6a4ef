"""The chat page, its no-script forms, and the one renderer of chat messages (HTML for every client)."""
from __future__ import annotations

import functools
from typing import Any, Callable

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from markupsafe import Markup

from bot import bp, chat
from bot import idea_requests
from bot.admission import admitted
from community import i18n
from community.viewhelpers import run_service
from community.extensions import db
from community.markup import render_markdown, sanitize_html
from community.models import ChatMessage, User

# Private-use characters that stand for <mark> and </mark> while the passage goes through Markdown.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"


@bp.app_template_filter("chat_passage")
def render_passage(passage: str, highlights: Any) -> Markup:
    """The passage's Markdown (lists, tables, code) rendered by the one sanitiser, the answering
    sentence(s) in <mark>."""
    passage = (passage or "").replace(_MARK_OPEN, "").replace(_MARK_CLOSE, "")
    spans: list[tuple[int, int]] = []
    for item in highlights or []:
        if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(n, int) for n in item):
            start, end = max(0, item[0]), min(len(passage), item[1])
            if start < end:
                spans.append((start, end))
    parts: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        start = max(start, pos)
        if start >= end:
            continue  # overlaps a span already marked
        parts += [passage[pos:start], _MARK_OPEN, passage[start:end], _MARK_CLOSE]
        pos = end
    parts.append(passage[pos:])
    return Markup(_marked_html("".join(parts)))  # noqa: S704 (sanitised by _marked_html)


@functools.lru_cache(maxsize=4096)
def _marked_html(marked: str) -> str:
    # Cached: the same passages answer most questions, with the same sentences marked (1 ms each).
    html = str(render_markdown(marked)).replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")
    # Sanitised again: a mark that spans two list items must not leave the markup unbalanced.
    return str(sanitize_html(html))


@bp.app_template_filter("chat_url")
def safe_url(url: Any) -> str:
    """Only site paths and web links become hrefs (citations come from index metadata)."""
    if isinstance(url, str) and ((url.startswith("/") and not url.startswith("//"))
                                 or url.startswith(("https://", "http://"))):
        return url
    return "#"


@bp.app_template_global("chat_community_url")
def community_url(question: str, message_id: int | None = None) -> str:
    """Where "Ask the community" goes: the forum's new-thread form with the question as its title."""
    return chat.ask_community_url(question, message_id)


@bp.app_template_global("chat_credited_name")
def credited_name(user_id: Any) -> str:
    """The community member an answer's source credits ("" when the account is gone)."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user.display_name if user is not None else ""


@bp.app_template_global("chat_idea_state")
def idea_state(idea_id: Any) -> dict[str, Any] | None:
    """A known-request reply's idea as it is now (votes, status) and whether the viewer voted / follows."""
    return idea_requests.viewer_state(_user(), idea_id)


def message_payload(message: ChatMessage) -> dict[str, Any]:
    """A stored message as data plus its rendered HTML (the web UI inserts the HTML as is)."""
    # The fragment is rendered without the page shell's context processors (navigation, and for a signed-in
    # customer an unread-notification query per message): the same HTML, 0.48 -> 0.13 ms for a question
    # (issue 21). It reads only Jinja's globals and what is passed here, gettext bound once to the catalogue.
    template = current_app.jinja_env.get_template("chat/_message.html")
    reasons = chat.reason_labels() if message.reply_kind == "answer" else {}  # only an answer can be rated
    html = template.render(message=message, reasons=reasons, current_user=current_user, **i18n.bound_gettext())
    return {**chat.message_dict(message), "html": html}


def exchange_payload(exchange: chat.Exchange) -> dict[str, Any]:
    """The acknowledgement / response body of a sent message."""
    return {
        "conversation_id": exchange.customer.conversation.public_id,
        "customer": message_payload(exchange.customer),
        "reply": message_payload(exchange.reply) if exchange.reply is not None else None,
        "duplicate": exchange.duplicate,
    }


def _user():
    return current_user if current_user.is_authenticated else None


@bp.get("/")
def page():
    user, key = _user(), chat.session_key(session)
    conversation = chat.find_conversation(user, key)
    return render_template("chat/page.html", messages=chat.history(user, conversation),
                           reasons=chat.reason_labels(), max_chars=current_app.config["COKNOW_CHAT_MAX_CHARS"])


def _act(action: Callable[[], object]):
    """Run a chat service for a no-script form post, then show the conversation again."""
    run_service(action)
    return redirect(url_for("chat.page") + "#chat-end")


def _ask(action: Callable[[], object]):
    """A question for the engine: inside the admission line (a full line answers 503 "busy", nothing stored)."""
    with admitted():
        return _act(action)


@bp.post("/")
def send():
    form = request.form
    return _ask(lambda: chat.send_message(_user(), chat.session_key(session), form.get("text", ""),
                                          form.get("client_id")))


@bp.post("/choose")
def choose():
    form = request.form
    return _ask(lambda: chat.choose(_user(), chat.session_key(session), form.get("choice"), form.get("message_id")))


@bp.post("/feedback")
def feedback():
    form = request.form
    helpful = {"1": True, "0": False}.get(form.get("helpful", ""), form.get("helpful"))
    return _act(lambda: chat.record_feedback(_user(), chat.session_key(session), form.get("message_id"), helpful,
                                             form.get("reason"), form.get("comment", "")))


@bp.post("/handoff")
def handoff():
    return _act(lambda: chat.request_handoff(_user(), chat.session_key(session)))


@bp.post("/ideas/vote")
def idea_vote():
    return _act(lambda: idea_requests.vote_from_chat(_user(), request.form.get("idea_id")))


@bp.post("/ideas/follow")
def idea_follow():
    return _act(lambda: idea_requests.follow_from_chat(_user(), request.form.get("idea_id")))
