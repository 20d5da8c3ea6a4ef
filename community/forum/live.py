"""Live thread updates sent by the forum services: viewers of an open thread are in room thread:<id> on /live."""
from __future__ import annotations

from flask import has_request_context, render_template

from community.extensions import socketio
from community.models import Reply
from community.notifications.services import LIVE_NAMESPACE
from community.realtime import after_commit


def thread_room(thread_id: int) -> str:
    """The Socket.IO room of everyone looking at a thread."""
    return f"thread:{thread_id}"


def announce_reply(reply: Reply) -> None:
    """Push the new reply's HTML to the thread's open pages once it is committed."""
    if not has_request_context():  # imports and scripts have no open pages to update
        return
    # Rendered now: after commit the session may not load the reply's author any more.
    html = render_template("forum/_reply_live.html", reply=reply)
    payload = {"thread_id": reply.thread_id, "reply_id": reply.id, "html": html}
    room = thread_room(reply.thread_id)
    after_commit(lambda: socketio.emit("thread_reply", payload, to=room, namespace=LIVE_NAMESPACE))
