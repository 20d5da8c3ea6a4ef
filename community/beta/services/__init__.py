"""Beta rules shared by every part of the section: who may see what, validation, links, and what the
chat calls ("Report this for build N": the tester's current build and a report prefilled from the talk).

This package holds the feature's rules, split by job: programs (programs, testers, builds), reports
(reports, triage, merging), uploads (attachments), known_issues (known issues, the bot's lookup), surveys
and health; this module has what they share. All validate and flush; the channel commits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask_babel import gettext as _
from sqlalchemy import select

from community.errors import Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    BetaBuild,
    BetaMembership,
    BetaProgram,
    BetaReport,
    MembershipStatus,
    ProgramStatus,
    ReportSupporter,
    User,
)

E = TypeVar("E", bound=Enum)

MAX_NAME = 160
MAX_TITLE = 200
MAX_TEXT = 10_000
MAX_SHORT = 80
MAX_VERSION = 40
MAX_URL = 500
MAX_COMMENT = 5_000


# ---------------------------------------------------------------- validation

def required_text(value: object, field: str, label: str, max_len: int) -> str:
    """Trimmed text that must be present and at most max_len long, else ValidationFailed naming field."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        message = _("%(label)s is required.", label=label)
        raise ValidationFailed(message, {field: [message]})
    if len(text) > max_len:
        message = _("%(label)s can be at most %(n)d characters long.", label=label, n=max_len)
        raise ValidationFailed(message, {field: [message]})
    return text


def optional_text(value: object, field: str, label: str, max_len: int) -> str:
    """Trimmed text, empty when missing; at most max_len long."""
    if value is not None and not isinstance(value, str):
        message = _("%(label)s must be text.", label=label)
        raise ValidationFailed(message, {field: [message]})
    text = (value or "").strip()
    if len(text) > max_len:
        message = _("%(label)s can be at most %(n)d characters long.", label=label, n=max_len)
        raise ValidationFailed(message, {field: [message]})
    return text


def choice(value: object, enum_cls: type[E], field: str, label: str) -> E:
    """The member of enum_cls named by value, else ValidationFailed."""
    try:
        return value if isinstance(value, enum_cls) else enum_cls(value)
    except ValueError:
        message = _("Choose a valid %(label)s.", label=label)
        raise ValidationFailed(message, {field: [message]}) from None


def as_id(value: object) -> int | None:
    """A positive whole number from a form or JSON value (int or digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None


_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def optional_url(value: object, field: str) -> str | None:
    """An http(s) link or None; javascript: and other schemes are refused."""
    text = optional_text(value, field, _("Link"), MAX_URL)
    if not text:
        return None
    if not _URL.match(text):
        message = _("Give a link that starts with http:// or https://.")
        raise ValidationFailed(message, {field: [message]})
    return text


def require_staff(user: User) -> None:
    """Forbidden unless user is staff."""
    if not user.is_staff:
        raise Forbidden(_("Only staff can do this."))


# ---------------------------------------------------------------- access

def membership(program: BetaProgram | int, user: User | None) -> BetaMembership | None:
    """The user's membership row in the program (any status), if any."""
    if user is None or not getattr(user, "is_authenticated", True) or user.id is None:
        return None
    program_id = program if isinstance(program, int) else program.id
    return db.session.scalar(select(BetaMembership).where(
        BetaMembership.program_id == program_id, BetaMembership.user_id == user.id))


def is_tester(program: BetaProgram | int, user: User | None) -> bool:
    """Whether the user is an accepted tester of the program."""
    row = membership(program, user)
    return row is not None and row.status is MembershipStatus.accepted


def can_see_program(program: BetaProgram, user: User | None) -> bool:
    """Drafts are staff-only; everything else is listed for everyone (invite-only shows it exists)."""
    if user is not None and getattr(user, "is_authenticated", False) and user.is_staff:
        return True
    return program.status is not ProgramStatus.draft


def program_or_404(slug: str, user: User | None) -> BetaProgram:
    """The program by slug, or NotFound when missing or not visible to user."""
    program = db.session.scalar(select(BetaProgram).where(BetaProgram.slug == slug))
    if program is None or not can_see_program(program, user):
        raise NotFound(_("This beta program does not exist."))
    return program


def build_or_404(build_id: int, user: User | None) -> BetaBuild:
    """A build of a program the user may see; testers and staff only (builds are not public)."""
    build = db.session.get(BetaBuild, build_id)
    if build is None or not (is_staff(user) or is_tester(build.program_id, user)):
        raise NotFound(_("This build does not exist or is only for the program's testers."))
    return build


def is_staff(user: User | None) -> bool:
    """Signed-in staff."""
    return user is not None and getattr(user, "is_authenticated", False) and user.is_staff


def can_see_report(report: BetaReport, user: User | None) -> bool:
    """Staff, the reporter and testers who said "me too" (or whose duplicate was merged in)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or report.reporter_id == user.id:
        return True
    return db.session.scalar(select(ReportSupporter.id).where(
        ReportSupporter.report_id == report.id, ReportSupporter.user_id == user.id)) is not None


def report_or_404(report_id: int, user: User | None) -> BetaReport:
    """A report the user may see (someone else's report answers like a missing one)."""
    report = db.session.get(BetaReport, report_id)
    if report is None or not can_see_report(report, user):
        raise NotFound(_("This report does not exist."))
    return report


# ---------------------------------------------------------------- links (site-relative: work in e-mail and CLI)

def program_url(program: BetaProgram) -> str:
    return f"/beta/{program.slug}/"


def build_url(build: BetaBuild | int) -> str:
    return f"/beta/builds/{build if isinstance(build, int) else build.id}"


def report_url(report: BetaReport | int) -> str:
    return f"/beta/reports/{report if isinstance(report, int) else report.id}"


# ---------------------------------------------------------------- what the chat calls

def current_build_for(user: User | None) -> BetaBuild | None:
    """The tester's current build: the newest released build of the programs they test, None for non-testers."""
    if user is None or not getattr(user, "is_authenticated", True) or user.id is None:
        return None
    return db.session.scalar(
        select(BetaBuild).join(BetaMembership, BetaMembership.program_id == BetaBuild.program_id)
        .join(BetaProgram, BetaProgram.id == BetaBuild.program_id)
        .where(BetaMembership.user_id == user.id, BetaMembership.status == MembershipStatus.accepted,
               BetaProgram.status != ProgramStatus.closed)
        .order_by(BetaBuild.released_at.desc(), BetaBuild.id.desc()).limit(1)
    )


def tester_builds(user: User | None) -> list[BetaBuild]:
    """Every build of every program the user tests, newest first."""
    if user is None or user.id is None:
        return []
    return list(db.session.scalars(
        select(BetaBuild).join(BetaMembership, BetaMembership.program_id == BetaBuild.program_id)
        .where(BetaMembership.user_id == user.id, BetaMembership.status == MembershipStatus.accepted)
        .order_by(BetaBuild.released_at.desc(), BetaBuild.id.desc())
    ))


@dataclass(frozen=True)
class ReportPrefill:
    """What the report form starts with when a chat message becomes a report."""

    title: str
    actual: str
    steps: str = ""


_FILLER = re.compile(r"^\s*(hi|hello|hey)\b[,!.\s]*|^\s*(bug|bug report|problem|issue)\s*[:\-–—]\s*", re.IGNORECASE)


def report_prefill(text: str, earlier: list[str] | None = None) -> ReportPrefill:
    """A report prefilled from the chat: the message's first sentence as title, the talk as what happened."""
    message = " ".join(_FILLER.sub("", text or "").split())
    first = re.split(r"(?<=[.!?])\s", message, maxsplit=1)[0]
    title = first[:MAX_TITLE].rstrip(" .") or _("Problem reported from the chat")
    lines = [t.strip() for t in (earlier or []) if t and t.strip()] + [(text or "").strip()]
    return ReportPrefill(title=title, actual="\n\n".join(lines)[:MAX_TEXT])


def report_offer_url(text: str) -> str:
    """The route that opens the report form for the tester's current build, prefilled with text."""
    return "/beta/report-from-chat?" + urlencode({"text": (text or "")[:2000]})


def report_offer(user: User | None, text: str) -> dict[str, Any] | None:
    """For a tester, what the chat shows under a bug-report message: "Report this for build N"."""
    build = current_build_for(user)
    if build is None:
        return None
    return {"build_id": build.id, "version": build.version, "program": build.program.name,
            "url": report_offer_url(text),
            "label": _("Report this for build %(version)s", version=build.version)}
