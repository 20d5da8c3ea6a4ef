"""Themes: cluster the stored vectors of the chosen sources, label, score and keep identity across runs."""
from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast
from datetime import timedelta

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import Table, func, insert, select, update

from community.errors import Conflict, NotFound, ValidationFailed
from community.extensions import db
from community.insights import duplicates, sentiment, sources
from community.models import Evidence, Idea, Role, Theme, ThemeItem, ThemeRun, User
from community.models.base import utcnow
from knowledge_index import themes as clustering

DEFAULT_SOURCES = ("thread", "idea", "gap")
MAX_PERIOD_DAYS = 3650
SENTIMENT_SAMPLE = 40  # items nearest each theme's centre whose sentiment is read
KEYWORD_SAMPLE = 300  # items nearest each theme's centre whose words label it
MAX_NAME = 120


# ---------------------------------------------------------------- starting a run
def check_run_request(source_names: Sequence[str] | None, period_days: int | str | None) -> tuple[list[str], int | None]:
    """Validate a run request: known clusterable sources and a period in days (or none for everything)."""
    known = {s.name for s in sources.sources(clusterable=True)}
    names = [n for n in dict.fromkeys(source_names or DEFAULT_SOURCES) if n]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValidationFailed(_("Choose sources among: %(known)s.", known=", ".join(sorted(known))),
                               {"sources": [_("Unknown source: %(name)s.", name=", ".join(unknown) or "-")]})
    if period_days in (None, ""):
        return names, None
    try:
        days = int(period_days)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise ValidationFailed(_("The period must be between 1 and %(max)s days.", max=MAX_PERIOD_DAYS),
                               {"period_days": [_("A whole number of days from 1 to %(max)s.", max=MAX_PERIOD_DAYS)]})
    return names, days


def create_run(by: User | None, source_names: Sequence[str] | None = None, period_days: int | str | None = None,
               *, scheduled: bool = False) -> ThemeRun:
    """Record a queued theme run; the caller enqueues the job after commit."""
    names, days = check_run_request(source_names, period_days)
    if by is not None and not by.is_staff:
        raise ValidationFailed(_("Only staff can run themes."))
    pending = db.session.scalar(select(ThemeRun).where(ThemeRun.state.in_(("queued", "running"))).limit(1))
    if pending is not None and not scheduled:
        raise Conflict(_("A theme run is already under way."))
    run = ThemeRun(state="queued", sources=names, period_days=days, scheduled=scheduled,
                   created_by_id=by.id if by is not None else None)
    db.session.add(run)
    db.session.flush()
    return run


# ---------------------------------------------------------------- computing a run
@dataclass
class _Items:
    keys: list[tuple[str, str]]
    matrix: np.ndarray
    infos: list[sources.ItemInfo]


def _collect(run: ThemeRun) -> _Items:
    since = utcnow() - timedelta(days=run.period_days) if run.period_days else None
    keys: list[tuple[str, str]] = []
    blocks: list[np.ndarray] = []
    infos: list[sources.ItemInfo] = []
    for name in run.sources:
        src = sources.source(name)
        if src is None or src.vectors is None:
            continue
        got = src.vectors(since)
        if not got.ids:
            continue
        keys.extend((name, i) for i in got.ids)
        blocks.append(got.matrix)
        infos.extend(got.infos[i] for i in got.ids)
    dims = {b.shape[1] for b in blocks}
    if len(dims) > 1:
        raise Conflict(_("Stored vectors of different sizes: re-index before running themes."))
    matrix = np.vstack(blocks) if blocks else np.zeros((0, 0), dtype=np.float32)
    return _Items(keys, matrix, infos)


def previous_run(run: ThemeRun) -> ThemeRun | None:
    """The newest finished run before run, preferring one over the same sources and period."""
    done = select(ThemeRun).where(ThemeRun.state == "done", ThemeRun.id != run.id).order_by(ThemeRun.id.desc())
    candidates = list(db.session.scalars(done.limit(20)))
    same = [r for r in candidates if sorted(r.sources) == sorted(run.sources) and r.period_days == run.period_days]
    pool = same or candidates
    return pool[0] if pool else None


def compute_run(run: ThemeRun) -> ThemeRun:
    """Cluster the run's items into themes (warm from the previous run) and store them; flushes."""
    items = _collect(run)
    prev = previous_run(run)
    prev_themes: list[Theme] = list(prev.themes) if prev is not None else []
    previous_labels = None
    if prev is not None and items.keys:
        index_of = {t.id: n for n, t in enumerate(prev_themes)}
        before = {(i.source_type, i.source_id): index_of[i.theme_id]
                  for i in db.session.scalars(select(ThemeItem).where(ThemeItem.run_id == prev.id))}
        previous_labels = np.array([before.get(k, -1) for k in items.keys], dtype=np.int64)
    started = time.perf_counter()
    result = clustering.cluster(items.matrix, previous=previous_labels) if items.keys else None
    run.seconds = round(time.perf_counter() - started, 3)
    run.previous_run_id = prev.id if prev is not None else None
    run.n_items = len(items.keys)
    if result is None:
        run.n_themes = 0
        db.session.flush()
        return run
    labels = result.labels
    k = result.k
    heirs = clustering.inherited(previous_labels, labels) if previous_labels is not None else {}
    similarity = np.einsum("ij,ij->i", clustering.normalize(items.matrix), result.centroids[labels])
    members: list[list[int]] = [[] for _ in range(k)]
    for n, label in enumerate(labels):
        members[int(label)].append(n)
    # Labels from the items nearest each centre: enough words for c-TF-IDF, and the cost stays
    # flat as the data grows (100,000 titles would take longer to tokenize than to cluster).
    labelled = [n for idx in members for n in sorted(idx, key=lambda n: -similarity[n])[:KEYWORD_SAMPLE]]
    words = clustering.keywords([items.infos[n].title for n in labelled], labels[labelled], k)
    staff_ids = set(db.session.scalars(select(User.id).where(User.role.in_((Role.staff, Role.admin)))))
    themes: list[Theme] = []
    for label in range(k):
        idx = members[label]
        old = prev_themes[heirs[label]] if label in heirs else None
        nearest = sorted(idx, key=lambda n: -similarity[n])[:SENTIMENT_SAMPLE]
        details = sources.describe(items.keys[n] for n in nearest)
        texts = [f"{items.infos[n].title}. {details[items.keys[n]].excerpt if items.keys[n] in details else ''}"
                 for n in nearest]
        customers = {items.infos[n].author_id for n in idx} - staff_ids - {None}
        theme = Theme(
            run=run, identity=old.identity if old is not None else uuid.uuid4().hex,
            keywords=words[label], name=old.name if old is not None else None, size=len(idx),
            previous_size=old.size if old is not None else None, sentiment=sentiment.shares(texts),
            customer_count=len(customers), centroid=result.centroids[label].astype("<f4").tobytes(),
        )
        db.session.add(theme)
        themes.append(theme)
    db.session.flush()
    rows = [
        {"run_id": run.id, "theme_id": themes[int(labels[n])].id, "source_type": key[0], "source_id": key[1],
         "title": items.infos[n].title[:500], "author_id": items.infos[n].author_id,
         "created_at": items.infos[n].created_at, "similarity": float(similarity[n])}
        for n, key in enumerate(items.keys)
    ]
    for start in range(0, len(rows), 5000):
        # Core executemany: the ORM's bulk path costs several times more at 100,000 rows.
        db.session.execute(insert(cast(Table, ThemeItem.__table__)), rows[start : start + 5000])
    run.n_themes = k
    duplicates.suggest_pairs(items.keys, clustering.normalize(items.matrix), labels)
    db.session.flush()
    return run


def finish_run(run: ThemeRun, error: str | None = None) -> None:
    """Mark a run done or failed; flushes."""
    run.state = "failed" if error else "done"
    run.error = (error or "")[:2000]
    run.finished_at = utcnow()
    db.session.flush()


# ---------------------------------------------------------------- reading
def latest_run() -> ThemeRun | None:
    """The newest finished run, or None before the first."""
    return db.session.scalar(select(ThemeRun).where(ThemeRun.state == "done").order_by(ThemeRun.id.desc()).limit(1))


def pending_run() -> ThemeRun | None:
    """A queued or running run, if any."""
    return db.session.scalar(select(ThemeRun).where(ThemeRun.state.in_(("queued", "running"))).order_by(ThemeRun.id.desc()).limit(1))


def get_theme(theme_id: int) -> Theme:
    """A theme by id or NotFound."""
    theme = db.session.get(Theme, theme_id)
    if theme is None:
        raise NotFound(_("This theme does not exist."))
    return theme


def theme_items(theme: Theme, *, limit: int | None = None, offset: int = 0) -> list[ThemeItem]:
    """A theme's items, nearest its centre first (the first ones are its examples)."""
    query = select(ThemeItem).where(ThemeItem.theme_id == theme.id).order_by(ThemeItem.similarity.desc(), ThemeItem.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(db.session.scalars(query))


def sources_mix(theme: Theme) -> dict[str, int]:
    """How many items of each source type the theme holds."""
    rows = db.session.execute(select(ThemeItem.source_type, func.count()).where(ThemeItem.theme_id == theme.id)
                              .group_by(ThemeItem.source_type)).all()
    return {str(kind): int(count) for kind, count in rows}


def theme_of(source_type: str, source_id: str | int, run: ThemeRun | None = None) -> Theme | None:
    """The theme an item belongs to in run (default the latest)."""
    run = run or latest_run()
    if run is None:
        return None
    item = db.session.scalar(select(ThemeItem).where(ThemeItem.run_id == run.id, ThemeItem.source_type == source_type,
                                                    ThemeItem.source_id == str(source_id)))
    return item.theme if item is not None else None


MAX_CANDIDATES = 10


def evidence_candidates(idea: Idea) -> list[ThemeItem]:
    """Items of the idea's theme (latest run) that could be its evidence: not ideas, not attached yet."""
    theme = theme_of("idea", idea.id)
    if theme is None:
        return []
    attached = {(e.source_type, e.source_id) for e in db.session.scalars(select(Evidence).where(Evidence.idea_id == idea.id))}
    out = []
    for item in theme_items(theme, limit=MAX_CANDIDATES * 3):
        if item.source_type != "idea" and (item.source_type, item.source_id) not in attached:
            out.append(item)
        if len(out) == MAX_CANDIDATES:
            break
    return out


# ---------------------------------------------------------------- staff edits (they survive re-runs)
def _require_staff(by: User) -> None:
    if not by.is_staff:
        raise ValidationFailed(_("Only staff can change themes."))


def rename_theme(theme: Theme, name: str | None, by: User) -> Theme:
    """Give a theme a staff name (empty: back to its keywords); later runs carry it on."""
    _require_staff(by)
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise ValidationFailed(_("A theme name has at most %(max)s characters.", max=MAX_NAME),
                               {"name": [_("At most %(max)s characters.", max=MAX_NAME)]})
    theme.name = name or None
    db.session.flush()
    return theme


def merge_themes(source: Theme, target: Theme, by: User) -> Theme:
    """Move every item of source into target (same run) and drop source; a re-run keeps them together."""
    _require_staff(by)
    if source.id == target.id or source.run_id != target.run_id:
        raise ValidationFailed(_("Choose another theme of the same run to merge into."),
                               {"target": [_("Another theme of the same run.")]})
    db.session.execute(update(ThemeItem).where(ThemeItem.theme_id == source.id).values(theme_id=target.id))
    target.size += source.size
    if source.name and not target.name:
        target.name = source.name
    db.session.delete(source)
    db.session.flush()
    return target


def split_theme(theme: Theme, item_ids: Sequence[int], name: str | None, by: User) -> Theme:
    """Move the chosen items of a theme into a new theme of the same run; a re-run keeps them apart."""
    _require_staff(by)
    wanted = {int(i) for i in item_ids}
    items = [i for i in db.session.scalars(select(ThemeItem).where(ThemeItem.theme_id == theme.id)) if i.id in wanted]
    if not items or len(items) >= theme.size:
        raise ValidationFailed(_("Choose some, but not all, of the theme's items to split off."),
                               {"items": [_("Choose at least one item and leave at least one.")]})
    name = (name or "").strip()[:MAX_NAME] or None
    child = Theme(run_id=theme.run_id, identity=uuid.uuid4().hex, keywords=[], name=name, size=len(items),
                  previous_size=None, sentiment={}, customer_count=len({i.author_id for i in items} - {None}),
                  centroid=None)
    db.session.add(child)
    db.session.flush()
    for item in items:
        item.theme_id = child.id
    theme.size -= len(items)
    child.keywords = _keywords_of([i.title for i in items], [i.title for i in theme_items(theme)])
    db.session.flush()
    return child


def _keywords_of(mine: list[str], others: list[str]) -> list[str]:
    words = clustering.keywords(mine + others, [0] * len(mine) + [1] * len(others), 2)
    return words[0]


# ---------------------------------------------------------------- export
EXPORT_FIELDS = ("theme_id", "theme", "keywords", "theme_size", "source_type", "source_id", "title", "url",
                 "created_at", "similarity")


def export_rows(run: ThemeRun, theme: Theme | None = None) -> list[dict[str, object]]:
    """Flat rows (one per item) of a run or one of its themes, for CSV and JSON."""
    themes = [theme] if theme is not None else list(run.themes)
    by_id = {t.id: t for t in themes}
    query = select(ThemeItem).where(ThemeItem.theme_id.in_(list(by_id))).order_by(ThemeItem.theme_id, ThemeItem.similarity.desc())
    out: list[dict[str, object]] = []
    for item in db.session.scalars(query):
        t = by_id[item.theme_id]
        out.append({
            "theme_id": t.id, "theme": t.label, "keywords": " ".join(t.keywords), "theme_size": t.size,
            "source_type": item.source_type, "source_id": item.source_id, "title": item.title,
            "url": item_url(item.source_type, item.source_id), "created_at": item.created_at.isoformat(),
            "similarity": round(item.similarity, 4),
        })
    return out


def item_url(source_type: str, source_id: str) -> str:
    """A site-relative link to an item (empty when the type has no page)."""
    info = sources.describe([(source_type, source_id)]).get((source_type, source_id))
    return info.url if info is not None else ""


def theme_summary(theme: Theme) -> dict[str, object]:
    """A theme as plain data (API, JSON export)."""
    return {
        "id": theme.id, "identity": theme.identity, "label": theme.label, "name": theme.name,
        "keywords": theme.keywords, "size": theme.size, "previous_size": theme.previous_size,
        "sentiment": theme.sentiment, "customers": theme.customer_count, "run_id": theme.run_id,
    }


def dominant_sentiment(theme: Theme) -> str:
    """positive / neutral / negative: the largest share of the theme's sampled items."""
    shares = Counter({k: float(v) for k, v in (theme.sentiment or {}).items()})
    return shares.most_common(1)[0][0] if shares else "neutral"
