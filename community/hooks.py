"""Signals community features send so that the layers above (the bot) can react without being imported.

Indico's and Discourse's pattern: the lower layer names an event, the upper layer connects a receiver
where the app is wired (create_app). A receiver runs inside the sender's transaction: it may flush, and
anything that leaves the process (events, e-mail) it defers with community.realtime.after_commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from blinker import Namespace

if TYPE_CHECKING:
    from community.models import Thread

#: The browser-session key under which the chat remembers a visitor's anonymous conversation; the
#: forum reads it to let someone who chatted first and then signed in ask the community.
CHAT_SESSION_KEY = "chat_key"

_signals = Namespace()

#: An article was saved from the editor or published. Sender: the Article; keyword arguments:
#: ``staff`` (the User or None) and ``first_publish`` (True when this save published it for the first time).
article_saved = _signals.signal("article-saved")

#: A reader said a help article did not answer what they were looking for. Sender: the Article; keyword
#: arguments: ``question`` (what they were looking for) and ``user_id`` (or None).
article_not_helpful = _signals.signal("article-not-helpful")

#: A server process is about to serve requests (`flask coknow serve`, a gunicorn worker). Sender: the app.
#: Receivers start warm-up work in threads of their own (loading the index, fitting models) and return at once.
server_starting = _signals.signal("server-starting")


@dataclass(frozen=True)
class ThreadPrefill:
    """What the new-thread form starts with when a customer asks the community from a bot reply."""

    message_id: int
    title: str
    body: str


@dataclass(frozen=True)
class AskCommunitySource:
    """The bot's side of "Ask the community": prefill a thread from a bot reply, and link the posted
    thread to the knowledge gap that reply started. Both get (user, chat session key, message id)."""

    prefill: Callable[[Any, str | None, object], ThreadPrefill | None]
    link: Callable[[Any, str | None, Thread, object], object]


_ask_community: list[AskCommunitySource] = []


def register_ask_community(source: AskCommunitySource) -> None:
    """Let the forum's new-thread form start from a bot reply (the bot registers at start-up)."""
    _ask_community[:] = [source]


def ask_community() -> AskCommunitySource | None:
    """The registered source, or None when no bot is wired in (the form then starts empty)."""
    return _ask_community[0] if _ask_community else None
