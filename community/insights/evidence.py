"""Evidence on ideas: threads, replies, chat messages, gaps or reports that staff attach to an idea."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from community.errors import Conflict, NotFound, ValidationFailed
from community.extensions import db
from community.insights import sources
from community.models import Evidence, Idea, User

MAX_NOTE = 500


def has_evidence(idea: Idea, source_type: str, source_id: str | int) -> bool:
    """Whether the item is already evidence on the idea."""
    return db.session.scalar(select(Evidence.id).where(
        Evidence.idea_id == idea.id, Evidence.source_type == source_type, Evidence.source_id == str(source_id))) is not None


def attach_evidence(idea: Idea, source_type: str, source_id: str | int, by: User, note: str | None = None) -> Evidence:
    """Attach an item as evidence on idea, remembering its title and the customer behind it; flushes."""
    if not by.is_staff:
        raise ValidationFailed(_("Only staff can attach evidence."))
    src = sources.source(source_type)
    if src is None:
        known = ", ".join(s.name for s in sources.sources())
        raise ValidationFailed(_("Evidence is one of: %(known)s.", known=known),
                               {"source_type": [_("Unknown type: %(name)s.", name=source_type)]})
    info = src.describe([str(source_id)]).get(str(source_id))
    if info is None:
        raise NotFound(_("There is no %(type)s %(id)s.", type=source_type, id=source_id))
    if source_type == "idea" and str(source_id) == str(idea.id):
        raise ValidationFailed(_("An idea cannot be evidence for itself."), {"source_id": [_("Choose another item.")]})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_("A note has at most %(max)s characters.", max=MAX_NOTE), {"note": [_("Too long.")]})
    if has_evidence(idea, source_type, source_id):
        raise Conflict(_("This item is already evidence on the idea."))
    item = Evidence(idea_id=idea.id, source_type=source_type, source_id=str(source_id), title=info.title[:500],
                    excerpt=info.excerpt, customer_id=info.author_id, note=note, added_by_id=by.id)
    db.session.add(item)
    db.session.flush()
    return item


def detach_evidence(item: Evidence, by: User) -> None:
    """Remove an item of evidence from its idea; flushes."""
    if not by.is_staff:
        raise ValidationFailed(_("Only staff can remove evidence."))
    db.session.delete(item)
    db.session.flush()


def get_evidence(evidence_id: int) -> Evidence:
    """An evidence row by id or NotFound."""
    item = db.session.get(Evidence, evidence_id)
    if item is None:
        raise NotFound(_("This evidence does not exist."))
    return item


@dataclass(frozen=True)
class Shown:
    evidence: Evidence
    url: str
    label: str


def evidence_for(idea: Idea) -> list[Shown]:
    """An idea's evidence, newest first, with links to the items still there."""
    query = select(Evidence).where(Evidence.idea_id == idea.id).order_by(Evidence.created_at.desc(), Evidence.id.desc())
    rows = list(db.session.scalars(query))
    infos = sources.describe((e.source_type, e.source_id) for e in rows)
    out = []
    for e in rows:
        src = sources.source(e.source_type)
        info = infos.get((e.source_type, e.source_id))
        out.append(Shown(e, info.url if info else "", src.label if src else e.source_type))
    return out


def customers_behind(idea: Idea) -> list[User]:
    """The distinct customers whose items are evidence on idea (staff left out)."""
    ids = set(db.session.scalars(select(Evidence.customer_id).where(Evidence.idea_id == idea.id, Evidence.customer_id.is_not(None))))
    users: list[User] = list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name))) if ids else []
    return [u for u in users if not u.is_staff]
