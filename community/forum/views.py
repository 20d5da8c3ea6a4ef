"""Forum pages: thread lists, threads, writing, answers, moderation, search and the Markdown preview."""
from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from community.access import staff_required
from community.extensions import db
from community.forum import bp, services
from community.forum.forms import CategoryForm, EditThreadForm, FlagForm, ReplyForm, ThreadForm
from community.forum.links import reply_path
from community.hooks import CHAT_SESSION_KEY, ask_community
from community.markup import render_markdown
from community.mentions import handle_of, link_mentions
from community.pagecache import anonymous_page, quiet_writes
from community.models import Article, Flag, ForumCategory, PostKind
from community.viewhelpers import commit_or_rollback, form_status, int_arg, page_arg, run_service

SEARCH_TYPES: dict[str, tuple[str, ...]] = {"thread": ("thread",), "answer": ("answer",), "idea": ("idea",), "article": ("article",)}


@bp.app_template_filter("forum_markdown")
def forum_markdown(text: str):
    """Posts render through the site's one sanitizer; @mentions of customers link to their profiles."""
    return render_markdown(link_mentions(text))




@bp.app_template_global("thread_row_key")
def thread_row_key(t, unread: bool) -> tuple:
    """Everything a thread row shows: its fragment cache key."""
    return ("thread_row", t.id, t.title, t.pinned, t.locked, t.hidden, t.accepted_reply_id is not None,
            t.category.slug, t.category.name, t.author_id,
            (t.author.display_name, t.author.initials) if t.author else None,
            tuple(tag.name for tag in t.tags), t.reply_count, t.views, t.last_activity_at, unread)


def _sort_arg() -> str:
    sort = request.args.get("sort", "latest")
    return sort if sort in services.SORTS else "latest"


def _cursor_args() -> dict:
    """The list's cursor (?after= / ?before=); pages that move by cursor count nothing."""
    return {"after": request.args.get("after") or None, "before": request.args.get("before") or None, "count": False}


@bp.get("/")
@anonymous_page
def index():
    page = services.list_threads(current_user, tag=request.args.get("tag") or None, sort=_sort_arg(), page=page_arg(),
                                 **_cursor_args())
    return render_template("forum/index.html", categories=services.visible_categories(current_user), listing=page,
                           category=None, tag=request.args.get("tag"))


@bp.get("/c/<slug>")
@anonymous_page
def category(slug: str):
    cat = services.get_category_or_404(slug, current_user)
    page = services.list_threads(current_user, category=cat, tag=request.args.get("tag") or None,
                                 sort=_sort_arg(), page=page_arg(), **_cursor_args())
    return render_template("forum/index.html", categories=services.visible_categories(current_user), listing=page,
                           category=cat, description=render_markdown(cat.description), tag=request.args.get("tag"))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_thread():
    form = ThreadForm()
    categories = services.visible_categories(current_user)
    form.category.choices = [(c.slug, c.name) for c in categories]
    if request.method == "GET" and request.args.get("category"):
        form.category.data = request.args["category"]
    if request.method == "GET" and request.args.get("title"):
        # "Ask the community" from the bot: the customer sees and may edit the question first.
        form.title.data = request.args["title"][:300]
    source = ask_community()
    if request.method == "GET" and request.args.get("from_message") and source is not None:
        prefill = source.prefill(current_user, session.get(CHAT_SESSION_KEY), request.args["from_message"])
        if prefill is not None:
            form.title.data, form.body.data, form.from_message.data = prefill.title, prefill.body, prefill.message_id
    if request.method == "GET" and form.title.data and not request.args.get("category"):
        # A question from the bot goes where it belongs by meaning, not to the first category.
        from community.forum.suggest import suggest_category

        suggested = suggest_category(current_user, form.title.data)
        if suggested is not None:
            form.category.data = suggested.slug
    if form.validate_on_submit():
        def post() -> int:
            cat = services.get_category_or_404(form.category.data, current_user)
            thread = services.create_thread(current_user, cat, form.title.data, form.body.data, form.tags.data or "")
            if form.from_message.data and source is not None:
                source.link(current_user, session.get(CHAT_SESSION_KEY), thread, form.from_message.data)
            return thread.id

        done = run_service(post, form)
        if done.ok:
            return redirect(url_for("forum.thread", thread_id=done.value))
    return render_template("forum/new.html", form=form, has_categories=bool(categories)), form_status()


# One way to link to a reply, the same in pages as in what services store (notifications, timelines, webhooks).
bp.add_app_template_global(reply_path, "reply_url")


def _reply_page_args() -> dict:
    """Which page of replies: the one holding ?reply=, after / before a cursor, ?page=last, or the first."""
    return {"reply_id": int_arg("reply"), "after": request.args.get("after") or None,
            "before": request.args.get("before") or None, "last": request.args.get("page") == "last"}


def _thread_page(thread, page, form, related: bool = True):
    """The thread page around one page of its replies; only the last page takes new replies live."""
    staff = current_user.is_authenticated and current_user.is_staff
    return render_template(
        "forum/thread.html", thread=thread, replies=page.items, pages=page, form=form,
        accepted_answer=services.accepted_reply(thread), liked=services.liked_ids(current_user, page.items),
        related=[(m, _hit_link(m)) for m in services.related_content(current_user, thread)] if related else [],
        categories=services.visible_categories(current_user) if staff else [],
        handle_of=handle_of, **_promotion_context(thread, staff),
    )


@bp.get("/t/<int:thread_id>")
@anonymous_page
def thread(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    page = services.reply_page(current_user, thread, **_reply_page_args())
    form = ReplyForm()
    quote = int_arg("quote")
    if quote and not form.body.data:
        # The Quote link opens the page holding the reply (?reply=), so it is among this page's replies.
        quoted = next((r for r in page.items if r.id == quote and not r.is_deleted and not r.hidden), None)
        if quoted is not None:
            name = quoted.author.display_name if quoted.author else _("Anonymous")
            form.body.data = "\n".join("> " + line for line in quoted.body.splitlines()) + f"\n>\n> — @{handle_of(name)}\n\n"
    return _thread_page(thread, page, form)


@bp.post("/t/<int:thread_id>/seen")
def seen(thread_id: int):
    """Count a view and mark the thread read: the thread page's script posts here once it is shown,
    so that reading a page (and a crawler's GET) writes nothing."""
    thread = services.get_thread_or_404(thread_id, current_user)

    def record() -> None:
        quiet_writes()  # a kept page may show a view count up to COKNOW_PAGE_CACHE_SECONDS old
        services.count_view(thread)
        if current_user.is_authenticated:
            services.mark_read(current_user, thread)

    commit_or_rollback(record)
    return "", 204


def _promotion_context(thread, staff: bool) -> dict:
    """The help article made from this thread, whether the viewer may propose one, and (staff) its gaps."""
    return {
        "article": services.promoted_article(thread),
        "can_propose": services.can_propose(current_user, thread) and thread.accepted_reply_id is not None,
        "gaps": services.linked_gaps(thread) if staff else [],
    }


@bp.post("/t/<int:thread_id>/reply")
@login_required
def reply(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    form = ReplyForm()
    if form.validate_on_submit():
        done = run_service(lambda: services.post_reply(current_user, thread, form.body.data).id, form)
        if done.ok and done.value is not None:
            return redirect(reply_path(thread_id, done.value))
    # The form with its errors at the foot of the last page, where the reply would have gone.
    return _thread_page(thread, services.reply_page(current_user, thread, last=True), form, related=False), form_status()


def _act(thread_id: int, action, message: str | None = None, reply_id: int | None = None):
    """Run a one-click action on a thread (or one of its replies) and return to it, on the page holding the
    reply, showing domain errors as a flash."""
    if run_service(action).ok and message:
        flash(message, "success")
    back = reply_path(thread_id, reply_id) if reply_id else url_for("forum.thread", thread_id=thread_id)
    return redirect(back), 303


@bp.post("/t/<int:thread_id>/accept/<int:reply_id>")
@login_required
def accept(thread_id: int, reply_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    target = services.get_reply_or_404(reply_id, current_user)
    return _act(thread_id, lambda: services.accept_answer(current_user, thread, target), _("Answer accepted."),
                reply_id=target.id)


@bp.post("/t/<int:thread_id>/unaccept")
@login_required
def unaccept(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    return _act(thread_id, lambda: services.unaccept_answer(current_user, thread), reply_id=thread.accepted_reply_id)


@bp.post("/r/<int:reply_id>/like")
@login_required
def like(reply_id: int):
    target = services.get_reply_or_404(reply_id, current_user)
    if request.accept_mimetypes.best == "application/json":
        # The like button's fetch: a refused like is a JSON error from the error handler.
        liked = commit_or_rollback(lambda: services.toggle_like(current_user, target))
        return jsonify(liked=liked, likes=target.like_count)
    run_service(lambda: services.toggle_like(current_user, target))
    return redirect(reply_path(target.thread_id, target.id))


@bp.route("/t/<int:thread_id>/edit", methods=["GET", "POST"])
@login_required
def edit_thread(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    if not (current_user.is_staff or thread.author_id == current_user.id):
        abort(403)
    form = EditThreadForm(obj=thread)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in thread.tags)
    if form.validate_on_submit() and run_service(
            lambda: services.edit_thread(current_user, thread, form.title.data, form.body.data, form.tags.data or ""), form).ok:
        return redirect(url_for("forum.thread", thread_id=thread.id))
    return render_template("forum/edit.html", form=form, thread=thread, reply=None), form_status()


@bp.route("/r/<int:reply_id>/edit", methods=["GET", "POST"])
@login_required
def edit_reply(reply_id: int):
    target = services.get_reply_or_404(reply_id, current_user)
    if not (current_user.is_staff or target.author_id == current_user.id) or target.is_deleted:
        abort(403)
    form = ReplyForm(obj=target)
    if form.validate_on_submit() and run_service(lambda: services.edit_reply(current_user, target, form.body.data), form).ok:
        return redirect(reply_path(target.thread_id, target.id))
    return render_template("forum/edit.html", form=form, thread=target.thread, reply=target), form_status()


@bp.get("/t/<int:thread_id>/history")
def thread_history(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    return render_template("forum/history.html", thread=thread, reply=None, current=thread.body,
                           revisions=services.revisions(PostKind.thread, thread.id), render=render_markdown)


@bp.get("/r/<int:reply_id>/history")
def reply_history(reply_id: int):
    target = services.get_reply_or_404(reply_id, current_user)
    if (target.is_deleted or target.hidden) and not (current_user.is_authenticated and current_user.is_staff):
        abort(404)
    return render_template("forum/history.html", thread=target.thread, reply=target, current=target.body,
                           revisions=services.revisions(PostKind.reply, target.id), render=render_markdown)


@bp.post("/t/<int:thread_id>/delete")
@login_required
def delete_thread(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    if not run_service(lambda: services.delete_thread(current_user, thread)).ok:
        return redirect(url_for("forum.thread", thread_id=thread_id))
    flash(_("The thread is deleted."), "success")
    return redirect(url_for("forum.index"))


@bp.post("/r/<int:reply_id>/delete")
@login_required
def delete_reply(reply_id: int):
    target = services.get_reply_or_404(reply_id, current_user)
    return _act(target.thread_id, lambda: services.delete_reply(current_user, target), _("The reply is deleted."),
                reply_id=target.id)


@bp.route("/flag/<kind>/<int:post_id>", methods=["GET", "POST"])
@login_required
def flag(kind: str, post_id: int):
    try:
        post_kind = PostKind(kind)
    except ValueError:
        abort(404)
    form = FlagForm()
    if form.validate_on_submit() and run_service(
            lambda: services.flag_post(current_user, post_kind, post_id, form.reason.data), form).ok:
        flash(_("Thank you. The moderators will look at this post."), "success")
        if post_kind is PostKind.thread:
            return redirect(url_for("forum.thread", thread_id=post_id))
        return redirect(reply_path(services.get_reply_or_404(post_id, current_user).thread_id, post_id))
    post = services.find_post(post_kind, post_id)
    if post is None or not services.can_see_thread(current_user, services.thread_of(post)):
        abort(404)
    return render_template("forum/flag.html", form=form, kind=post_kind.value, post=post), form_status()


@bp.get("/flags")
@staff_required
def flags():
    return render_template("forum/flags.html", queue=services.open_flags(), render=render_markdown,
                           thread_of=services.thread_of)


@bp.post("/flags/<int:flag_id>")
@staff_required
def resolve_flag(flag_id: int):
    item = db.session.get(Flag, flag_id)
    if item is None:
        abort(404)
    run_service(lambda: services.resolve_flag(current_user, item, request.form.get("action", "")))
    return redirect(url_for("forum.flags"))


@bp.post("/t/<int:thread_id>/moderate")
@staff_required
def moderate(thread_id: int):
    thread = services.get_thread_or_404(thread_id, current_user)
    action = request.form.get("action", "")
    target = None
    if action == "move":
        target = db.session.scalar(db.select(ForumCategory).where(ForumCategory.slug == request.form.get("category", "")))
    return _act(thread_id, lambda: services.moderate_thread(current_user, thread, action, target), _("Done."))


@bp.post("/r/<int:reply_id>/hide")
@staff_required
def hide_reply(reply_id: int):
    target = services.get_reply_or_404(reply_id, current_user)
    hidden = request.form.get("hidden", "1") == "1"
    return _act(target.thread_id, lambda: services.set_reply_hidden(current_user, target, hidden), _("Done."),
                reply_id=target.id)


@bp.route("/categories", methods=["GET", "POST"])
@bp.route("/categories/<slug>", methods=["GET", "POST"])
@staff_required
def manage_categories(slug: str | None = None):
    editing = services.get_category_or_404(slug, current_user) if slug else None
    form = CategoryForm(obj=editing)
    if form.validate_on_submit() and run_service(
            lambda: services.save_category(editing, name=form.name.data, description=form.description.data or "",
                                           staff_only=form.staff_only.data, position=form.position.data or 0), form).ok:
        flash(_("The category is saved."), "success")
        return redirect(url_for("forum.manage_categories"))
    return render_template("forum/categories.html", form=form, editing=editing,
                           categories=services.visible_categories(current_user)), form_status()


@bp.post("/preview")
@login_required
def preview():
    """The live Markdown preview: the same sanitizer as published posts (CSRF checked like any post)."""
    text = request.form.get("body", "")
    if len(text) > services.MAX_BODY:
        return jsonify(error={"code": "too_large", "message": _("The text is too long."), "fields": {}}), 413
    return jsonify(html=str(render_markdown(text)))


@bp.get("/similar")
def similar():
    """Threads close to a draft title, for the 'already asked?' box on the new-thread form."""
    text = request.args.get("q", "")[:300]
    matches = services.hits_with_threads(current_user, services.similar_threads(current_user, text))
    return jsonify(threads=[
        {"title": m.title, "url": url_for("forum.thread", thread_id=int(m.source_id)),
         "answered": m.source_type == "answer", "score": round(m.score, 3)}
        for m in matches
    ])


def _hit_link(hit) -> str:
    if hit.source_type in ("thread", "answer"):
        reply_id = hit.meta.get("reply_id")
        if reply_id and str(reply_id).isdigit():
            return reply_path(int(hit.source_id), int(reply_id))
        return url_for("forum.thread", thread_id=int(hit.source_id))
    if hit.meta.get("url"):
        url = str(hit.meta["url"])
        return url if url.startswith("/") and not url.startswith("//") else "#"
    if hit.source_type == "article":
        article = db.session.get(Article, int(hit.source_id)) if str(hit.source_id).isdigit() else None
        return url_for("kb.article", slug=article.slug) if article is not None else url_for("kb.index")
    if hit.source_type == "idea":
        return f"/ideas/{hit.source_id}"
    return "#"


@bp.get("/search")
def search():
    from community import search as index

    query = request.args.get("q", "").strip()[:300]
    kind = request.args.get("type", "")
    cat = request.args.get("category", "")
    types: tuple[str, ...] = SEARCH_TYPES.get(kind, ("thread", "answer", "idea", "article"))
    category_filter = None
    if cat:
        category_filter = services.get_category_or_404(cat, current_user).slug
        types = tuple(t for t in types if t in ("thread", "answer"))
    results = []
    if query:
        hits = index.search_documents(query, 20, source_types=types,
                                      filters=services.search_filters(current_user, category_filter))
        seen: set[tuple[str, str]] = set()
        for hit in services.hits_with_threads(current_user, hits):
            # A thread and its accepted answer are one result: show whichever ranks first.
            key = ("thread", hit.source_id) if hit.source_type in ("thread", "answer") else (hit.source_type, hit.source_id)
            if key not in seen:
                seen.add(key)
                results.append((hit, _hit_link(hit)))
    return render_template("forum/search.html", query=query, results=results, kind=kind, category=cat,
                           categories=services.visible_categories(current_user))
