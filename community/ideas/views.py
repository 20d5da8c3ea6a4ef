"""Idea pages: board, submit (with live duplicate suggestions), detail, roadmap, changelog, staff tools."""
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from community.access import staff_required
from community.customers.services.segments import SEGMENT_ORDER
from community.errors import DomainError, wants_json
from community.extensions import db
from community.ideas import bp, services, staff_tools
from community.ideas.forms import ChangelogForm, CommentForm, IdeaForm, MergeForm, StatusForm, VoteForForm
from community.ideas.services import IdeaMerged, get_idea_or_404
from community.markup import render_markdown
from community.pagecache import anonymous_page
from community.mentions import link_mentions
from community.rendered import body_html
from community.models import Article, ChangelogEntry, ContentReview, Idea, IdeaComment, IdeaStatus
from community.viewhelpers import commit_or_rollback, form_status, page_arg, run_service


@bp.app_template_filter("idea_status")
def _status_filter(status: IdeaStatus) -> str:
    return services.status_label(status)


@bp.app_template_global("idea_row_key")
def idea_row_key(idea: Idea, voted: bool) -> tuple:
    """Everything an idea row on the board shows (its vote form too): its fragment cache key."""
    signed_in = bool(current_user.is_authenticated)
    return ("idea_row", idea.id, idea.title, idea.status, idea.category, tuple(idea.tags or ()), idea.comment_count,
            idea.created_at, idea.vote_count, idea.is_closed, voted, signed_in,
            generate_csrf() if signed_in else None, request.full_path)


@bp.app_template_global("idea_markdown")
def _markdown(text: str):
    # @mentions of customers link to their public profiles, as in the forum.
    return render_markdown(link_mentions(text))


@bp.get("/")
@anonymous_page
def index():
    sort = request.args.get("sort", "trending")
    status = request.args.get("status") or None
    try:
        page = services.list_ideas(sort=sort, status=status, category=request.args.get("category") or None,
                                   tag=request.args.get("tag") or None, q=request.args.get("q") or None,
                                   page=page_arg(), after=request.args.get("after") or None,
                                   before=request.args.get("before") or None, count=False)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("ideas.index"))
    voted = services.has_voted(current_user, [i.id for i in page.items])
    return render_template("ideas/index.html", page=page, voted=voted, sort=sort, status=status,
                           sorts=services.SORTS, statuses=services.STATUS_ORDER, categories=services.categories(),
                           args=request.args)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = IdeaForm()
    if request.method == "GET" and request.args.get("title"):
        # The chat offers unmatched feature requests here with the message as the title, to edit.
        form.title.data = " ".join(request.args["title"].split())[: services.MAX_TITLE]
    if form.validate_on_submit():
        done = run_service(lambda: services.submit_idea(current_user, form.title.data, form.body.data,
                                                        form.category.data, form.tags.data), form)
        if done.value is not None:
            flash(_("Thanks! Your idea is posted; others can now vote on it."), "success")
            return redirect(url_for("ideas.detail", idea_id=done.value.id))
    return render_template("ideas/new.html", form=form, categories=services.categories()), form_status()


@bp.get("/similar")
def similar():
    q = request.args.get("q", "")
    matches = services.similar_ideas(q, k=5)
    voted = services.has_voted(current_user, [i.id for i, _score in matches])
    return jsonify({"ideas": [{**services.idea_summary(i), "voted": i.id in voted, "score": round(s, 3)}
                              for i, s in matches]})


@bp.get("/<int:idea_id>")
@anonymous_page
def detail(idea_id: int):
    idea = get_idea_or_404(idea_id)
    if idea.merged_into_id is not None:
        target = services.resolve_merged(idea)
        flash(_("“%(title)s” was merged into this idea.", title=idea.title), "info")
        return redirect(url_for("ideas.detail", idea_id=target.id), 301)
    staff = current_user.is_authenticated and current_user.is_staff
    context = {
        "idea": idea,
        "body": body_html(idea),
        "voted": idea.id in services.has_voted(current_user, [idea.id]),
        "following": services.is_following(current_user, idea),
        "comments": services.comments(idea),
        "timeline": services.timeline(idea),
        "comment_form": CommentForm(),
    }
    if staff:
        context.update(
            status_form=StatusForm(status=idea.status.value),
            vote_for_form=VoteForForm(),
            demand=services.demand(idea),
            requesters=services.requester_users(idea.id),
            value=services.idea_value(idea.id),
            votes=services.voters(idea),
            reviews=[r for r in services.open_reviews() if r.idea_id == idea.id],
        )
    return render_template("ideas/detail.html", **context)


@bp.route("/<int:idea_id>/edit", methods=["GET", "POST"])
@login_required
def edit(idea_id: int):
    idea = get_idea_or_404(idea_id)
    form = IdeaForm(obj=idea)
    if request.method == "GET":
        form.tags.data = ", ".join(idea.tags or [])
    if form.validate_on_submit():
        if run_service(lambda: services.edit_idea(idea, current_user, form.title.data, form.body.data,
                                                  form.category.data, form.tags.data), form).ok:
            flash(_("The idea is updated."), "success")
            return redirect(url_for("ideas.detail", idea_id=idea.id))
    elif request.method == "GET" and not (current_user.is_staff or
                                          (current_user.id == idea.author_id and idea.status is IdeaStatus.open)):
        abort(403)
    return render_template("ideas/edit.html", form=form, idea=idea, categories=services.categories()), form_status()


def _act(idea_id: int, action, done_message: str):
    """Run a vote/follow action and answer JSON (fetch) or redirect back (form)."""
    idea = get_idea_or_404(idea_id)
    if wants_json():  # the buttons' fetch: a refusal is a JSON error from the error handler
        changed = commit_or_rollback(lambda: action(current_user, idea))
    else:
        try:
            changed = commit_or_rollback(lambda: action(current_user, idea))
        except IdeaMerged as error:
            target = get_idea_or_404(error.target_id)
            flash(_("This idea was merged into “%(title)s”; vote there.", title=target.title), "info")
            return redirect(url_for("ideas.detail", idea_id=target.id))
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("ideas.detail", idea_id=idea.id))
    if wants_json():
        return jsonify(services.vote_state(current_user, idea, changed).to_dict())
    if changed:
        flash(done_message, "success")
    back = request.form.get("next", "")
    return redirect(back if back.startswith("/ideas") else url_for("ideas.detail", idea_id=idea.id))


@bp.post("/<int:idea_id>/vote")
@login_required
def vote(idea_id: int):
    return _act(idea_id, services.cast_vote, _("Your vote is counted."))


@bp.post("/<int:idea_id>/unvote")
@login_required
def unvote(idea_id: int):
    return _act(idea_id, services.retract_vote, _("Your vote is removed."))


@bp.post("/<int:idea_id>/follow")
@login_required
def follow(idea_id: int):
    return _act(idea_id, services.follow_idea, _("You follow this idea and will hear about every change."))


@bp.post("/<int:idea_id>/unfollow")
@login_required
def unfollow(idea_id: int):
    return _act(idea_id, services.unfollow_idea, _("You no longer follow this idea."))


@bp.post("/<int:idea_id>/vote-for")
@staff_required
def vote_for(idea_id: int):
    idea = get_idea_or_404(idea_id)
    form = VoteForForm()
    if not form.validate():
        flash(_("Enter the customer's e-mail address."), "error")
        return redirect(url_for("ideas.detail", idea_id=idea.id))
    done = run_service(lambda: services.record_vote_for(current_user, form.email.data, idea, form.note.data))
    if done.value is not None:
        customer, added = done.value
        if added:
            flash(_("Vote recorded for %(name)s.", name=customer.display_name), "success")
        else:
            flash(_("%(name)s has already voted for this idea.", name=customer.display_name), "info")
    return redirect(url_for("ideas.detail", idea_id=idea.id))


@bp.post("/<int:idea_id>/comments")
@login_required
def comment(idea_id: int):
    idea = get_idea_or_404(idea_id)
    form = CommentForm()
    if form.validate_on_submit():
        done = run_service(lambda: services.add_comment(idea, current_user, form.body.data))
        if done.value is not None:
            return redirect(url_for("ideas.detail", idea_id=idea.id) + f"#comment-{done.value.id}")
    else:
        flash(" ".join(sum(form.errors.values(), [])) or _("Write a comment first."), "error")
    return redirect(url_for("ideas.detail", idea_id=idea.id))


def _comment_or_404(comment_id: int) -> IdeaComment:
    found = db.session.get(IdeaComment, comment_id)
    if found is None or found.deleted_at is not None:
        abort(404)
    return found


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int):
    found = _comment_or_404(comment_id)
    if not (current_user.is_staff or current_user.id == found.author_id):
        abort(403)
    form = CommentForm(obj=found)
    if form.validate_on_submit() and run_service(lambda: services.edit_comment(found, current_user, form.body.data), form).ok:
        flash(_("Your comment is updated."), "success")
        return redirect(url_for("ideas.detail", idea_id=found.idea_id) + f"#comment-{found.id}")
    return render_template("ideas/comment_edit.html", form=form, comment=found), form_status()


@bp.get("/comments/<int:comment_id>/history")
def comment_history(comment_id: int):
    found = _comment_or_404(comment_id)
    return render_template("ideas/comment_history.html", comment=found)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete_comment(comment_id: int):
    found = _comment_or_404(comment_id)
    if run_service(lambda: services.delete_comment(found, current_user)).ok:
        flash(_("The comment is deleted."), "info")
    return redirect(url_for("ideas.detail", idea_id=found.idea_id))


@bp.post("/<int:idea_id>/status")
@staff_required
def change_status(idea_id: int):
    idea = get_idea_or_404(idea_id)
    form = StatusForm()
    if not form.validate():
        flash(" ".join(sum(form.errors.values(), [])), "error")
        return redirect(url_for("ideas.detail", idea_id=idea.id))
    if run_service(lambda: services.change_status(idea, form.status.data, current_user, form.reason.data)).ok:
        flash(_("Status changed; voters and followers are notified."), "success")
    return redirect(url_for("ideas.detail", idea_id=idea.id))


@bp.route("/<int:idea_id>/merge", methods=["GET", "POST"])
@staff_required
def merge(idea_id: int):
    """Merge in three steps: find the target by title (or number), see what will move, confirm."""
    source = get_idea_or_404(idea_id)
    form = MergeForm()
    query = request.values.get("q", "").strip()[:200]
    target_id = (request.values.get("target_id") or "").strip().lstrip("#")
    target = db.session.get(Idea, int(target_id)) if target_id.isdigit() else None
    preview = None
    if target is not None:
        try:
            preview = staff_tools.merge_preview(source, target)
        except DomainError as error:
            flash(error.message, "error")
            target = None
    if request.method == "POST" and preview is not None and request.form.get("confirm") == "1":
        if not form.validate():
            abort(400)
        if run_service(lambda: services.merge_ideas(source, preview.target, current_user)).ok:
            flash(_("Merged “%(source)s” into this idea.", source=source.title), "success")
            return redirect(url_for("ideas.detail", idea_id=preview.target.id))
    candidates = [] if preview is not None else staff_tools.merge_candidates(source, query)
    status = 200 if request.method == "GET" else 422
    return render_template("ideas/merge.html", idea=source, query=query, candidates=candidates, preview=preview,
                           form=form), status


@bp.get("/duplicates")
@staff_required
def duplicates():
    return render_template("ideas/duplicates.html", pairs=services.duplicate_pairs())


@bp.get("/roadmap")
def roadmap():
    return render_template("ideas/roadmap.html", columns=services.roadmap())


@bp.get("/changelog")
def changelog():
    return render_template("ideas/changelog.html", entries=services.changelog_entries())


@bp.route("/changelog/new", methods=["GET", "POST"])
@staff_required
def new_changelog():
    """Write, preview (what ships, who is told), then publish: nothing goes out before the confirmation."""
    form = ChangelogForm()
    candidates = [i for i in services.list_ideas(sort="status", per_page=100).items
                  if i.status in (IdeaStatus.planned, IdeaStatus.in_progress, IdeaStatus.shipped)]
    form.ideas.choices = [(i.id, f"#{i.id} {i.title} ({services.status_label(i.status)})") for i in candidates]
    if request.method == "GET" and request.args.get("idea", "").isdigit():
        form.ideas.data = [int(request.args["idea"])]
    preview = None
    if form.validate_on_submit():
        if request.form.get("confirm") == "1":
            done = run_service(lambda: services.publish_changelog(current_user, form.title.data, form.body.data,
                                                                  form.ideas.data), form)
            if done.value is not None:
                flash(_("Published; the voters of the delivered ideas are notified."), "success")
                return redirect(url_for("ideas.changelog") + f"#entry-{done.value.id}")
        elif request.form.get("confirm") != "0":  # "0" is "Back to editing": the form again, as written
            preview = staff_tools.changelog_preview(form.title.data, form.body.data, form.ideas.data or [])
            return render_template("ideas/changelog_new.html", form=form, preview=preview)
    return render_template("ideas/changelog_new.html", form=form, preview=None), form_status()


@bp.route("/changelog/<int:entry_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_changelog(entry_id: int):
    """Correct a published entry's text (a typo, a wrong link) without notifying anyone again."""
    entry = db.get_or_404(ChangelogEntry, entry_id)
    form = ChangelogForm(obj=entry)
    form.ideas.choices = [(i.id, i.title) for i in entry.ideas]
    form.ideas.data = [i.id for i in entry.ideas]
    if form.validate_on_submit():
        done = run_service(lambda: staff_tools.correct_changelog(entry.id, current_user, form.title.data,
                                                                 form.body.data), form)
        if done.ok:
            flash(_("Corrected. Nobody was notified again."), "success")
            return redirect(url_for("ideas.changelog") + f"#entry-{entry.id}")
    return render_template("ideas/changelog_edit.html", form=form, entry=entry), form_status()


@bp.get("/priorities")
@staff_required
def priorities():
    segment = request.args.get("segment") or None
    try:
        rows = services.priorities(segment=segment)
    except DomainError as error:
        flash(error.message, "error")
        segment, rows = None, services.priorities()
    return render_template("ideas/priorities.html", rows=rows, segment=segment,
                           segments=[s.value for s in SEGMENT_ORDER])


@bp.get("/reviews")
@staff_required
def reviews():
    items = services.open_reviews()
    articles = {a.id: a for a in db.session.scalars(db.select(Article).where(
        Article.id.in_([int(r.source_id) for r in items if r.source_type == "article" and r.source_id.isdigit()])))}
    return render_template("ideas/reviews.html", reviews=items, articles=articles)


@bp.post("/reviews/<int:review_id>/resolve")
@staff_required
def resolve_review(review_id: int):
    review = db.session.get(ContentReview, review_id)
    if review is None:
        abort(404)
    if run_service(lambda: services.resolve_review(review, current_user)).ok:
        flash(_("Marked as reviewed."), "success")
    return redirect(url_for("ideas.reviews"))
