"""Near-duplicates across types: an idea, a thread, a gap and a beta report about the same thing.

Pairs are found when themes run (compute on write): only items of the same theme are compared,
so the cost follows the themes' sizes, not the square of everything stored.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import select

from community.errors import Conflict, NotFound, ValidationFailed
from community.extensions import db
from community.insights import sources
from community.models import Idea, ItemLink, User
from community.search import DUPLICATE_THRESHOLD

MAX_SUGGESTIONS = 500


def _ordered(a: tuple[str, str], b: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    return (a, b) if a <= b else (b, a)


def suggest_pairs(keys: Sequence[tuple[str, str]], matrix: np.ndarray, labels: np.ndarray,
                  threshold: float = DUPLICATE_THRESHOLD) -> int:
    """Record new suggested pairs (different types, or two ideas) above threshold; returns how many; flushes."""
    if not len(keys):
        return 0
    found: list[tuple[float, tuple[str, str], tuple[str, str]]] = []
    kinds = np.array([k[0] for k in keys])
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    for group in np.split(order, bounds):
        kind = kinds[group]
        if len(group) < 2 or (len(set(kind.tolist())) < 2 and kind[0] != "idea"):
            continue
        is_idea = kind == "idea"
        # Only pairs of different types (or two ideas) are wanted: mask the rest before looking.
        wanted = (kind[:, None] != kind[None, :]) | (is_idea[:, None] & is_idea[None, :])
        sims = matrix[group] @ matrix[group].T
        rows, cols = np.nonzero(np.triu(wanted & (sims >= threshold), k=1))
        if len(rows) > MAX_SUGGESTIONS:
            best = np.argpartition(-sims[rows, cols], MAX_SUGGESTIONS)[:MAX_SUGGESTIONS]
            rows, cols = rows[best], cols[best]
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            found.append((float(sims[r, c]), *_ordered(keys[group[r]], keys[group[c]])))
    found.sort(key=lambda f: -f[0])
    known = {(x.a_type, x.a_id, x.b_type, x.b_id) for x in db.session.scalars(select(ItemLink))}
    added = 0
    for score, a, b in found[:MAX_SUGGESTIONS]:
        key = (a[0], a[1], b[0], b[1])
        if key in known:
            continue
        known.add(key)
        db.session.add(ItemLink(a_type=a[0], a_id=a[1], b_type=b[0], b_id=b[1], status="suggested", score=round(score, 4)))
        added += 1
    db.session.flush()
    return added


@dataclass(frozen=True)
class Pair:
    link: ItemLink
    a: sources.ItemInfo
    b: sources.ItemInfo

    @property
    def both_ideas(self) -> bool:
        return self.a.source_type == self.b.source_type == "idea"


def open_pairs(limit: int = 100, status: str = "suggested") -> list[Pair]:
    """Pairs waiting for staff (or those linked), best first; pairs whose items vanished are left out."""
    links = list(db.session.scalars(select(ItemLink).where(ItemLink.status == status)
                                    .order_by(ItemLink.score.desc(), ItemLink.id).limit(limit)))
    infos = sources.describe([(x.a_type, x.a_id) for x in links] + [(x.b_type, x.b_id) for x in links])
    return [Pair(x, infos[(x.a_type, x.a_id)], infos[(x.b_type, x.b_id)]) for x in links
            if (x.a_type, x.a_id) in infos and (x.b_type, x.b_id) in infos]


def get_link(link_id: int) -> ItemLink:
    """A pair by id or NotFound."""
    link = db.session.get(ItemLink, link_id)
    if link is None:
        raise NotFound(_("This pair does not exist."))
    return link


def link_pair(link: ItemLink, by: User) -> ItemLink:
    """Confirm a pair; an idea paired with anything else gets that item as evidence."""
    from community.insights import evidence

    if not by.is_staff:
        raise ValidationFailed(_("Only staff can link items."))
    link.status = "linked"
    link.by_id = by.id
    for idea_side, other in (((link.a_type, link.a_id), (link.b_type, link.b_id)),
                             ((link.b_type, link.b_id), (link.a_type, link.a_id))):
        if idea_side[0] == "idea" and other[0] != "idea":
            idea = db.session.get(Idea, int(idea_side[1]))
            if idea is not None and not evidence.has_evidence(idea, *other):
                evidence.attach_evidence(idea, other[0], other[1], by, note=_("Linked as a duplicate"))
    db.session.flush()
    return link


def dismiss_pair(link: ItemLink, by: User) -> ItemLink:
    """Say a pair is not the same thing; it is not suggested again."""
    if not by.is_staff:
        raise ValidationFailed(_("Only staff can dismiss pairs."))
    link.status = "dismissed"
    link.by_id = by.id
    db.session.flush()
    return link


def merge_pair(link: ItemLink, by: User) -> Idea:
    """Merge the pair's first idea into the second (both must be ideas), with the ideas' own merge."""
    from community.ideas import services as ideas

    if link.a_type != "idea" or link.b_type != "idea":
        raise Conflict(_("Only two ideas can be merged."))
    source, target = db.session.get(Idea, int(link.a_id)), db.session.get(Idea, int(link.b_id))
    if source is None or target is None:
        raise NotFound(_("One of these ideas no longer exists."))
    # The older idea usually holds the votes: keep it as the target.
    if source.created_at < target.created_at:
        source, target = target, source
    merged = ideas.merge_ideas(source, target, by)
    link.status = "linked"
    link.by_id = by.id
    db.session.flush()
    return merged
