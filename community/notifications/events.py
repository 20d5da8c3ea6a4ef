"""Socket.IO namespace /live: each signed-in connection joins its user's room."""
from __future__ import annotations

from flask_login import current_user
from flask_socketio import Namespace, join_room, leave_room

from community.auth.sessions import join_session_room
from community.notifications.services import LIVE_NAMESPACE, unread_count, user_room
from community.realtime import join_room_while_connected


class LiveNamespace(Namespace):
    """Site-wide live updates (notification counts, thread replies)."""

    def on_connect(self, auth=None):
        if current_user.is_authenticated:
            join_room(user_room(current_user.id))
            join_session_room(current_user)  # closed when this login session ends
        return None

    def on_unread(self, _data=None):
        if not current_user.is_authenticated:
            return {"unread": 0}
        return {"unread": unread_count(current_user.id)}

    def on_watch_thread(self, data=None):
        """Join the thread's room for live replies, only if the viewer may see the thread."""
        from community.forum.events import thread_room, watch_thread

        thread_id = (data or {}).get("thread_id") if isinstance(data, dict) else None
        if thread_id is None or not watch_thread(current_user, thread_id):
            return {"ok": False}
        return {"ok": join_room_while_connected(thread_room(int(thread_id)))}

    def on_unwatch_thread(self, data=None):
        from community.forum.events import thread_room

        thread_id = (data or {}).get("thread_id") if isinstance(data, dict) else None
        try:
            leave_room(thread_room(int(thread_id)))  # type: ignore[arg-type]  # junk is the TypeError below
        except (TypeError, ValueError):
            return {"ok": False}
        return {"ok": True}


def register(socketio) -> None:
    """Attach the namespace to the current Socket.IO server."""
    socketio.on_namespace(LiveNamespace(LIVE_NAMESPACE))
