"""Where a thread or one of its replies is: the links notifications, timelines, webhooks and search store.

A thread shows its replies a page at a time, so a link to a reply names it (?reply=) for the server to open
the page holding it, and anchors it (#reply-) for the browser to scroll to it.
"""
from __future__ import annotations


def thread_path(thread_id: int) -> str:
    return f"/forum/t/{thread_id}"


def reply_path(thread_id: int, reply_id: int) -> str:
    return f"/forum/t/{thread_id}?reply={reply_id}#reply-{reply_id}"
