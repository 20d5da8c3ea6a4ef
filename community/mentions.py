"""@mentions: a handle is a display name without spaces (`@RosaDíaz`), matched case-insensitively.

Chinese and Japanese put no space after a name (`@王小明你好`): there the longest display name that
starts the mention is the one meant.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select

from community.extensions import db
from community.models import Role, User

MAX_NOTIFIED_MENTIONS = 10
MENTION_RE = re.compile(r"(?<![\w@/])@(\w[\w.\-]{0,79})", re.UNICODE)
_NO_SPACES = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_NAME = 80


def candidates(handle: str) -> list[str]:
    """The names a mention may mean, longest first: itself, or in CJK script each prefix of it."""
    if not _NO_SPACES.search(handle):
        return [handle]
    return [handle[:n] for n in range(min(len(handle), MAX_NAME), 0, -1)]


def _resolve(handles: list[str], known: set[str]) -> dict[str, str]:
    """Each mentioned handle's longest known candidate name."""
    out = {}
    for handle in handles:
        name = next((c for c in candidates(handle) if c in known), None)
        if name is not None:
            out[handle] = name
    return out


def _all_candidates(handles: list[str]) -> list[str]:
    return sorted({c for handle in handles for c in candidates(handle)})


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
    name = func.lower(func.replace(User.display_name, " ", ""))
    rows = db.session.execute(
        select(User, name).where(User.active.is_(True), name.in_(_all_candidates(handles))).order_by(User.id)
    ).all()
    meant = set(_resolve(handles, {str(row[1]) for row in rows}).values())
    return [row[0] for row in rows if row[1] in meant][:MAX_NOTIFIED_MENTIONS]


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
            func.lower(func.replace(User.display_name, " ", "")).in_(
                _all_candidates(handles[: MAX_NOTIFIED_MENTIONS * 2])))
    ).all()
    ids: dict[str, int] = {str(row[0]): int(row[1]) for row in rows}
    if not ids:
        return body
    meant = _resolve(handles, set(ids))

    def link(match: re.Match[str]) -> str:
        handle = match.group(1).rstrip(".-")
        name = meant.get(handle.lower())
        if name is None:
            return match.group(0)
        return f"[@{match.group(1)[:len(name)]}](/people/{ids[name]})" + match.group(1)[len(name):]

    parts = _CODE.split(body)
    return "".join(part if n % 2 else MENTION_RE.sub(link, part) for n, part in enumerate(parts))
