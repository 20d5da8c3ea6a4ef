"""Socket.IO namespace /live: each signed-in connection joins its user's room."""
from __future__ import annotations

from flask_login import current_user
from flask_socketio import Namespace, join_room

from community.notifications.services import LIVE_NAMESPACE, unread_count, user_room


class LiveNamespace(Namespace):
    """Site-wide live updates (notification counts, thread replies)."""

    def on_connect(self, auth=None):
        if current_user.is_authenticated:
            join_room(user_room(current_user.id))
            return None
        return None

    def on_unread(self, _data=None):
        if not current_user.is_authenticated:
            return {"unread": 0}
        return {"unread": unread_count(current_user.id)}


def register(socketio) -> None:
    """Attach the namespace to the current Socket.IO server."""
    socketio.on_namespace(LiveNamespace(LIVE_NAMESPACE))
