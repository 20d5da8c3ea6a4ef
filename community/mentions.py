"""@mentions: a handle is a display name without spaces (`@RosaDíaz`), matched case-insensitively."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from community.extensions import db
from community.models import User

MAX_NOTIFIED_MENTIONS = 10
MENTION_RE = re.compile(r"(?<![\w@/])@(\w[\w.\-]{0,79})", re.UNICODE)


def handle_of(display_name: str) -> str:
    """The @mention handle of a display name."""
    return re.sub(r"\s+", "", display_name)


def mention_handles(body: str) -> list[str]:
    """Distinct lower-case handles mentioned in body (code spans and blocks excluded)."""
    without_code = re.sub(r"```.*?```|`[^`]*`", " ", body or "", flags=re.S)
    handles: list[str] = []
    for match in MENTION_RE.finditer(without_code):
        handle = match.group(1).rstrip(".-").lower()
        if handle and handle not in handles:
            handles.append(handle)
    return handles


def mentioned_users(body: str) -> list[User]:
    """Active accounts whose handle is mentioned in body."""
    handles = mention_handles(body)[: MAX_NOTIFIED_MENTIONS * 2]
    if not handles:
        return []
    users = db.session.scalars(
        select(User).where(User.active.is_(True), func.lower(func.replace(User.display_name, " ", "")).in_(handles))
        .order_by(User.id)
    )
    return list(users)[:MAX_NOTIFIED_MENTIONS]
