"""Programs, testers and builds: create a program, apply or be invited, accept or decline, leave, ship builds."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from community.beta.services import (
    MAX_NAME,
    MAX_SHORT,
    MAX_TEXT,
    MAX_VERSION,
    as_id,
    build_url,
    choice,
    membership,
    optional_text,
    optional_url,
    program_url,
    require_staff,
    required_text,
)
from community.errors import Conflict, Forbidden, NotFound, ValidationFailed
from community.extensions import db
from community.models import (
    BetaBuild,
    BetaMembership,
    BetaProgram,
    Enrollment,
    Idea,
    MembershipStatus,
    ProgramStatus,
    User,
    find_user_by_email,
    utcnow,
)
from community.notifications.services import notify

_SLUG = re.compile(r"[^\w]+|_")


def slugify(name: str) -> str:
    """A URL slug from a program name, keeping any script's letters ("安卓小组件" stays itself)."""
    norm = unicodedata.normalize("NFKC", name).casefold()
    return _SLUG.sub("-", norm).strip("-")[:MAX_SHORT].strip("-") or "program"


def _dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        message = _("The end date is before the start date.")
        raise ValidationFailed(message, {"ends_on": [message]})


def _capacity(value: object) -> int | None:
    if value in (None, ""):
        return None
    number = as_id(value)
    if number is None or number > 100_000:
        message = _("Capacity must be a whole number from 1 to 100000, or empty for no limit.")
        raise ValidationFailed(message, {"capacity": [message]})
    return number


def _ideas(idea_ids: Iterable[int]) -> list[Idea]:
    ids = sorted({int(i) for i in idea_ids})
    found = list(db.session.scalars(select(Idea).where(Idea.id.in_(ids)))) if ids else []
    if len(found) != len(ids):
        message = _("Some of the chosen ideas do not exist.")
        raise ValidationFailed(message, {"idea_ids": [message]})
    return found


def save_program(staff: User, program: BetaProgram | None, *, name: object, description: object = "",
                 enrollment: object = "open", status: object = "recruiting", capacity: object = None,
                 starts_on: date | None = None, ends_on: date | None = None, terms: object = "",
                 idea_ids: Iterable[int] = (), features: Iterable[str] = (), slug: str | None = None) -> BetaProgram:
    """Create (program None) or change a program; staff only."""
    require_staff(staff)
    name_text = required_text(name, "name", _("Name"), MAX_NAME)
    fields = {
        "name": name_text,
        "description": optional_text(description, "description", _("Description"), MAX_TEXT),
        "enrollment": choice(enrollment, Enrollment, "enrollment", _("enrollment")),
        "status": choice(status, ProgramStatus, "status", _("status")),
        "capacity": _capacity(capacity),
        "starts_on": starts_on, "ends_on": ends_on,
        "terms": optional_text(terms, "terms", _("Terms"), MAX_TEXT) or None,
    }
    _dates(starts_on, ends_on)
    ideas = _ideas(idea_ids)
    if program is None:
        base = slugify(slug or name_text)
        candidate, n = base, 2
        while db.session.scalar(select(BetaProgram.id).where(BetaProgram.slug == candidate)) is not None:
            candidate, n = f"{base}-{n}", n + 1
        program = BetaProgram(slug=candidate, created_by_id=staff.id, features=[str(f) for f in features])
        db.session.add(program)
    for key, value in fields.items():
        setattr(program, key, value)
    program.ideas = ideas
    db.session.flush()
    return program


# ---------------------------------------------------------------- testers

def accepted_count(program: BetaProgram) -> int:
    """How many accepted testers the program has."""
    return db.session.scalar(select(func.count()).select_from(BetaMembership).where(
        BetaMembership.program_id == program.id, BetaMembership.status == MembershipStatus.accepted)) or 0


def _has_room(program: BetaProgram) -> None:
    if program.capacity is not None and accepted_count(program) >= program.capacity:
        raise Conflict(_("This program is full (%(n)d testers).", n=program.capacity))


def _terms(program: BetaProgram, accepted_terms: bool) -> None:
    if program.terms and not accepted_terms:
        message = _("Accept the program's terms to join.")
        raise ValidationFailed(message, {"accept_terms": [message]})


def _staff_of_program() -> list[User]:
    from community.models import Role

    return list(db.session.scalars(select(User).where(User.role.in_([Role.staff, Role.admin]), User.active.is_(True))))


def apply(user: User, program: BetaProgram, *, motivation: object = "", accepted_terms: bool = False,
          ) -> BetaMembership:
    """Apply to an open program (staff decide), or accept a standing invitation at once."""
    if program.status not in (ProgramStatus.recruiting, ProgramStatus.running):
        raise Conflict(_("This program is not taking testers."))
    row = membership(program, user)
    if row is not None and row.status is MembershipStatus.accepted:
        return row
    if row is not None and row.status is MembershipStatus.invited:
        return _accept(row, program, user, accepted_terms)
    if program.enrollment is Enrollment.invite_only:
        raise Forbidden(_("This program is by invitation only."))
    if row is not None and row.status is MembershipStatus.applied:
        return row
    _terms(program, accepted_terms)
    text = optional_text(motivation, "motivation", _("Why you want to join"), 2000)
    if row is None:
        row = BetaMembership(program_id=program.id, user_id=user.id, status=MembershipStatus.applied)
        db.session.add(row)
    row.status, row.motivation, row.created_at = MembershipStatus.applied, text or None, utcnow()
    row.terms_accepted_at = utcnow() if program.terms else None
    row.decided_at = row.decided_by_id = None
    db.session.flush()
    notify(_staff_of_program(), "beta.application", _l("%(name)s applied to %(program)s",
                                                       name=user.display_name, program=program.name),
           link=program_url(program) + "testers", actor=user)
    return row


def _accept(row: BetaMembership, program: BetaProgram, user: User, accepted_terms: bool) -> BetaMembership:
    _terms(program, accepted_terms)
    _has_room(program)
    row.status, row.decided_at = MembershipStatus.accepted, utcnow()
    row.terms_accepted_at = utcnow() if program.terms else None
    db.session.flush()
    return row


def decide(staff: User, row: BetaMembership, accept: bool) -> BetaMembership:
    """Staff accept or decline an application; the applicant is told either way."""
    require_staff(staff)
    if row.status not in (MembershipStatus.applied, MembershipStatus.accepted, MembershipStatus.declined):
        raise Conflict(_("Only applications can be accepted or declined."))
    program = row.program
    if accept and row.status is not MembershipStatus.accepted:
        _has_room(program)
    row.status = MembershipStatus.accepted if accept else MembershipStatus.declined
    row.decided_at, row.decided_by_id = utcnow(), staff.id
    db.session.flush()
    if accept:
        notify([row.user_id], "beta.membership", _l("You're in: welcome to %(program)s", program=program.name),
               link=program_url(program),
               body=_l("Your application was accepted. Download the latest build and tell us what you find."),
               actor=staff)
    else:
        notify([row.user_id], "beta.membership", _l("Your application to %(program)s was declined", program=program.name),
               link=program_url(program), actor=staff)
    return row


def invite(staff: User, program: BetaProgram, email: object) -> BetaMembership:
    """Invite an existing account by e-mail; they are told in-app and by e-mail and accept on the program page."""
    require_staff(staff)
    address = required_text(email, "email", _("E-mail"), 254)
    user = find_user_by_email(address)
    if user is None:
        message = _("No account has this e-mail address. Share the program's invitation link instead.")
        raise ValidationFailed(message, {"email": [message]})
    row = membership(program, user)
    if row is not None and row.status is MembershipStatus.accepted:
        raise Conflict(_("%(name)s already tests this program.", name=user.display_name))
    if row is None:
        row = BetaMembership(program_id=program.id, user_id=user.id, status=MembershipStatus.invited)
        db.session.add(row)
    row.status, row.decided_by_id, row.decided_at = MembershipStatus.invited, staff.id, utcnow()
    db.session.flush()
    notify([user.id], "beta.invitation", _l("You're invited to test %(program)s", program=program.name),
           link=program_url(program), body=_l("Open the program page to accept the invitation."), actor=staff)
    return row


def leave(user: User, program: BetaProgram) -> BetaMembership:
    """A tester (or applicant) leaves the program; their reports stay."""
    row = membership(program, user)
    if row is None or row.status in (MembershipStatus.left, MembershipStatus.declined):
        raise NotFound(_("You are not part of this program."))
    row.status, row.decided_at = MembershipStatus.left, utcnow()
    db.session.flush()
    return row


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="coknow.beta.invitation")


def invitation_token(program: BetaProgram) -> str:
    """A signed link token that lets whoever holds it join the program (even an invite-only one)."""
    return _serializer().dumps({"p": program.id})


def join_with_token(user: User, program: BetaProgram, token: str, accepted_terms: bool = False) -> BetaMembership:
    """Join through a signed invitation link: accepted at once, capacity and terms permitting."""
    try:
        data = _serializer().loads(token)
        valid = int(data["p"]) == program.id
    except (BadSignature, KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        raise ValidationFailed(_("This invitation link is not valid for this program."))
    if program.status not in (ProgramStatus.recruiting, ProgramStatus.running):
        raise Conflict(_("This program is not taking testers."))
    row = membership(program, user)
    if row is not None and row.status is MembershipStatus.accepted:
        return row
    if row is None:
        row = BetaMembership(program_id=program.id, user_id=user.id, status=MembershipStatus.invited)
        db.session.add(row)
    return _accept(row, program, user, accepted_terms)


def members(program: BetaProgram, status: MembershipStatus | None = None) -> list[BetaMembership]:
    """The program's memberships, newest first, optionally of one status."""
    query = select(BetaMembership).where(BetaMembership.program_id == program.id)
    if status is not None:
        query = query.where(BetaMembership.status == status)
    return list(db.session.scalars(query.order_by(BetaMembership.created_at.desc())))


def tester_ids(program_id: int) -> list[int]:
    """Accepted testers' user ids."""
    return list(db.session.scalars(select(BetaMembership.user_id).where(
        BetaMembership.program_id == program_id, BetaMembership.status == MembershipStatus.accepted)))


def visible_programs(user: User | None) -> list[BetaProgram]:
    """Programs to list: all but drafts (staff see drafts too), newest first."""
    query = select(BetaProgram).order_by(BetaProgram.created_at.desc(), BetaProgram.id.desc())
    if not (user is not None and getattr(user, "is_authenticated", False) and user.is_staff):
        query = query.where(BetaProgram.status != ProgramStatus.draft)
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- builds

def release_build(staff: User, program: BetaProgram, *, version: object, notes: object = "",
                  download_url: object = None, notify_testers: bool = True) -> BetaBuild:
    """Add a build to the program; its testers hear about it in-app and by e-mail, as they chose."""
    require_staff(staff)
    text = required_text(version, "version", _("Version"), MAX_VERSION)
    if db.session.scalar(select(BetaBuild.id).where(BetaBuild.program_id == program.id,
                                                    BetaBuild.version == text)) is not None:
        message = _("This program already has a build %(version)s.", version=text)
        raise ValidationFailed(message, {"version": [message]})
    build = BetaBuild(program_id=program.id, version=text,
                      notes=optional_text(notes, "notes", _("Release notes"), MAX_TEXT),
                      download_url=optional_url(download_url, "download_url"), created_by_id=staff.id,
                      released_at=utcnow())
    db.session.add(build)
    db.session.flush()
    if notify_testers:
        notify(tester_ids(program.id), "beta.build",
               _l("New build %(version)s of %(program)s", version=build.version, program=program.name),
               link=build_url(build), body=_l("Install it and tell us what you find."), actor=staff)
    return build
