"""Live thread updates: viewers of an open thread join room thread:<id> on /live."""
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


def watch_thread(viewer, thread_id) -> bool:
    """True when viewer may see the thread (the caller then joins its room)."""
    from community.errors import NotFound
    from community.forum.services import get_thread_or_404

    try:
        get_thread_or_404(int(thread_id), viewer)
    except (NotFound, TypeError, ValueError):
        return False
    return True
