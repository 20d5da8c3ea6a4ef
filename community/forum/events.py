"""Socket.IO side of live threads: who may watch a thread's room (the /live namespace asks here)."""
from __future__ import annotations

from typing import Any

from community.errors import NotFound
from community.forum.live import thread_room
from community.forum.services import get_thread_or_404

__all__ = ["thread_room", "watch_thread"]


def watch_thread(viewer: Any, thread_id: Any) -> bool:
    """True when viewer may see the thread (the caller then joins its room)."""
    try:
        get_thread_or_404(int(thread_id), viewer)
    except (NotFound, TypeError, ValueError):
        return False
    return True
