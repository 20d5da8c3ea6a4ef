"""@mentions: a handle is a display name without spaces (`@RosaDíaz`), matched case-insensitively."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from community.extensions import db
from community.models import Role, User

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


_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.S)


def link_mentions(body: str) -> str:
    """Markdown with each @mention of a customer turned into a link to their public profile.

    Code is left alone; a handle nobody has, or a staff member's (they have no public profile), stays text.
    One query per text, for all its handles.
    """
    handles = mention_handles(body)
    if not handles:
        return body
    rows = db.session.execute(
        select(func.lower(func.replace(User.display_name, " ", "")), User.id).where(
            User.active.is_(True), User.role == Role.customer, User.deleted_at.is_(None),
            func.lower(func.replace(User.display_name, " ", "")).in_(handles[: MAX_NOTIFIED_MENTIONS * 2]))
    ).all()
    ids: dict[str, int] = {str(row[0]): int(row[1]) for row in rows}
    if not ids:
        return body

    def link(match: re.Match[str]) -> str:
        handle = match.group(1).rstrip(".-")
        user_id = ids.get(handle.lower())
        if user_id is None:
            return match.group(0)
        return f"[@{handle}](/people/{user_id})" + match.group(1)[len(handle):]

    parts = _CODE.split(body)
    return "".join(part if n % 2 else MENTION_RE.sub(link, part) for n, part in enumerate(parts))
