"""Render once (Discourse's raw / cooked): a post's Markdown becomes sanitized HTML when it is written or edited,
and pages read the stored HTML instead of rendering on every view.

The sanitizer stays the one in community.markup; this module only decides when it runs and where the result
is kept. RENDERER_VERSION names the renderer: bump it when community.markup or the mention links change, and
the re-render job (enqueued by `flask coknow serve`, or `flask coknow markup rerender`) makes every stored body
again. Until then a row whose stored HTML is missing or older is rendered live on view, so a page is never
wrong, only slower.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from flask import Flask, request
from flask_wtf.csrf import generate_csrf
from flask_babel import get_locale, get_timezone
from markupsafe import Markup
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session

from community.extensions import db
from community.jobs import job, report_progress
from community.markup import render_markdown
from community.mentions import link_mentions
from community.models import Article, Idea, IdeaComment, Reply, Thread

# 1: Markdown (commonmark + tables + strikethrough) through nh3's allow-list; @mentions of customers linked.
RENDERER_VERSION = 1
RERENDER_BATCH = 200


def _with_mentions(body: str) -> Markup:
    return render_markdown(link_mentions(body or ""))


def _plain(body: str) -> Markup:
    return render_markdown(body or "")


# The models whose body is stored rendered, and how each is rendered (forum and ideas link @mentions,
# help articles do not).
RENDERERS: dict[type[Any], Callable[[str], Markup]] = {
    Thread: _with_mentions,
    Reply: _with_mentions,
    Idea: _with_mentions,
    IdeaComment: _with_mentions,
    Article: _plain,
}


def render_body(obj: Any) -> Markup:
    """obj's body rendered now (the one renderer for its kind)."""
    return RENDERERS[type(obj)](obj.body)


def body_html(obj: Any) -> Markup:
    """obj's body as safe HTML: the stored rendering when it is current, else rendered now (not stored: a page
    view writes nothing)."""
    if obj.body_html is not None and obj.body_html_version == RENDERER_VERSION:
        # Stored by render_body above, i.e. already sanitized by community.markup.
        return Markup(obj.body_html)  # noqa: S704
    return render_body(obj)


def _cook_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """Render the body of every new or edited post as it is written."""
    for obj in list(session.new) + list(session.dirty):
        if type(obj) not in RENDERERS:
            continue
        state = db.inspect(obj)
        if (obj in session.new or state.attrs.body.history.has_changes()
                or obj.body_html_version != RENDERER_VERSION):
            obj.body_html = str(render_body(obj))
            obj.body_html_version = RENDERER_VERSION


def register(app: Flask) -> None:
    """Render bodies on write in every session of db (idempotent), and `cooked(post)` for templates."""
    if not event.contains(db.session, "before_flush", _cook_before_flush):
        event.listen(db.session, "before_flush", _cook_before_flush)
    app.add_template_global(body_html, "cooked")
    app.add_template_global(cached_fragment, "cached_fragment")


FRAGMENT_CACHE_SIZE = 5_000
_fragments: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
_fragments_lock = threading.Lock()


CSRF_SLOT = "\x00csrf-token\x00"  # where a kept fragment takes the viewer's own CSRF token (NUL: never in a page)


def cached_fragment(key: tuple[Any, ...], caller: Callable[[], str], csrf: bool = False) -> Markup:
    """`{% call cached_fragment(key) %}…{% endcall %}`: a template fragment rendered once per process and key.

    key must hold every value the fragment shows (so it is never stale: a change is a new key); the locale, time
    zone and the site's URL root are added here. Used for list rows, which are the same for every viewer in the
    same state and were most of a list page's cost, and for the page shell's parts that are the same for everyone
    (navigation, footer, the chat launcher: with csrf=True the viewer's own CSRF token is put back in each time).
    """
    full = (str(get_locale()), str(get_timezone()), request.script_root, csrf, *key)
    with _fragments_lock:
        found = _fragments.get(full)
        if found is not None:
            _fragments.move_to_end(full)
    if found is None:
        html = str(caller())
        # csrf=True: the fragment's forms carry the viewer's token; it is kept with a slot in its place.
        found = Markup(html.replace(generate_csrf(), CSRF_SLOT) if csrf else html)  # noqa: S704 (the template's own output, escaped by Jinja's autoescape)
        with _fragments_lock:
            _fragments[full] = found
            while len(_fragments) > FRAGMENT_CACHE_SIZE:
                _fragments.popitem(last=False)
    return Markup(str(found).replace(CSRF_SLOT, generate_csrf())) if csrf else found  # noqa: S704 (as above)


def count_stale() -> int:
    """How many stored bodies are missing or were made by an older renderer."""
    return sum(db.session.scalar(select(func.count()).select_from(model).where(_stale(model))) or 0
               for model in RENDERERS)


def _stale(model: Any) -> Any:
    return or_(model.body_html_version.is_(None), model.body_html_version != RENDERER_VERSION)


def rerender_stale(batch: int = RERENDER_BATCH, on_batch: Callable[[int], None] | None = None) -> int:
    """Render and store every stale body, batch by batch (the caller commits after each through on_batch).
    Written with plain UPDATEs that keep updated_at: a new rendering is not a change API clients sync.
    Idempotent; returns how many bodies it rendered."""
    done = 0
    for model in RENDERERS:
        last_id = 0
        while True:
            rows = list(db.session.scalars(select(model).where(_stale(model), model.id > last_id)
                                           .order_by(model.id).limit(batch)))
            if not rows:
                break
            for obj in rows:
                values: dict[str, Any] = {"body_html": str(render_body(obj)), "body_html_version": RENDERER_VERSION}
                if hasattr(model, "updated_at"):
                    values["updated_at"] = model.updated_at
                db.session.execute(update(model).where(model.id == obj.id).values(**values)
                                   .execution_options(synchronize_session=False))
            last_id = rows[-1].id
            done += len(rows)
            db.session.expire_all()
            if on_batch is not None:
                on_batch(done)
    return done


@job("markup.rerender")
def rerender_job(job_id: int) -> dict[str, Any]:
    """Store the current rendering of every stale body, committing after each batch (safe to run again)."""
    total = count_stale()
    report_progress(job_id, done=0, total=total, message=f"0 of {total} bodies")
    done = rerender_stale(on_batch=lambda n: report_progress(job_id, done=n, total=total,
                                                              message=f"{n} of {total} bodies"))
    return {"rendered": done}


def start_rerender_if_stale() -> bool:
    """Enqueue the re-render job when stored bodies are missing or old (after the caller's commit)."""
    from community.jobs import start_job

    if not count_stale():
        return False
    start_job(rerender_job)
    return True
