"""Staff pages of the capture loop: the knowledge gaps (kept at /insights/gaps) and proposing a
forum answer for the help center (kept at /forum/t/<id>/propose). They are the bot's, so the
community never imports the bot to serve them."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from bot import capture, promotion
from community.access import staff_required
from community.extensions import db
from community.forum import services as forum
from community.kb.forms import ArticleForm, DismissGapForm, LinkGapForm
from community.kb.manage import article_fields, category_choices, commit_article
from community.models import Article, ArticleStatus, GapStatus, KnowledgeGap
from community.viewhelpers import form_status, run_service

bp = Blueprint("capture", __name__)


def _article_choices() -> list[SelectChoice]:
    articles = db.session.scalars(
        select(Article).where(Article.status == ArticleStatus.published).order_by(Article.title)
    )
    return [SelectChoice(str(a.id), a.title) for a in articles]


@bp.get("/insights/gaps")
@staff_required
def gaps():
    status = request.args.get("status", "open")
    try:
        wanted = GapStatus(status)
    except ValueError:
        wanted = GapStatus.open
    link_form = LinkGapForm()
    link_form.article.choices = _article_choices()
    return render_template(
        "gaps/index.html", ranked=capture.ranked_gaps(wanted), status=wanted.value,
        link_form=link_form, dismiss_form=DismissGapForm(),
    )


@bp.post("/insights/gaps/<int:gap_id>/link")
@staff_required
def link_gap(gap_id: int):
    gap = db.get_or_404(KnowledgeGap, gap_id)
    form = LinkGapForm()
    article = db.session.get(Article, int(form.article.data)) if (form.article.data or "").isdigit() else None
    if not form.validate_on_submit() or article is None:
        flash(_("Choose an article to link."), "error")
        return redirect(url_for("capture.gaps"))
    if run_service(lambda: capture.link_gap_to_article(gap, article, current_user)).ok:
        flash(_("The bot now answers these questions with “%(title)s”.", title=article.title), "success")
    return redirect(url_for("capture.gaps"))


@bp.post("/insights/gaps/<int:gap_id>/dismiss")
@staff_required
def dismiss_gap(gap_id: int):
    gap = db.get_or_404(KnowledgeGap, gap_id)
    form = DismissGapForm()
    if not form.validate_on_submit():
        flash(_("Say why the gap is dismissed."), "error")
        return redirect(url_for("capture.gaps"))
    run_service(lambda: capture.dismiss_gap(gap, form.reason.data, current_user))
    return redirect(url_for("capture.gaps"))


@bp.post("/insights/gaps/dismiss")
@staff_required
def dismiss_gaps():
    """Dismiss a selected group of gaps with one reason (off-topic chatter, spam)."""
    form = DismissGapForm()
    ids = [int(i) for i in request.form.getlist("gap") if i.isdigit()][:500]
    gaps = list(db.session.scalars(select(KnowledgeGap).where(KnowledgeGap.id.in_(ids),
                                                              KnowledgeGap.status == GapStatus.open)))
    if not form.validate_on_submit():
        flash(_("Say why the gaps are dismissed."), "error")
        return redirect(url_for("capture.gaps"))
    done = run_service(lambda: capture.dismiss_gaps(gaps, form.reason.data, current_user))
    if done.ok:
        flash(ngettext("%(num)d gap dismissed.", "%(num)d gaps dismissed.", done.value or 0), "success")
    return redirect(url_for("capture.gaps"))


@bp.route("/insights/gaps/<int:gap_id>/write", methods=["GET", "POST"])
@staff_required
def write_article(gap_id: int):
    """Write an article from a gap: the form comes prefilled with the customers' wordings."""
    gap = db.get_or_404(KnowledgeGap, gap_id)
    form = ArticleForm()
    form.category.choices = category_choices()
    if request.method == "GET":
        form.title.data = gap.title
        form.questions.data = "\n".join(capture.gap_questions(gap))
    if form.validate_on_submit():
        if gap.status is not GapStatus.open:
            flash(_("This gap is already closed."), "error")
            return redirect(url_for("capture.gaps"))
        article = commit_article(form, None, lambda: capture.write_article_for_gap(gap, current_user, **article_fields(form)))
        if article is not None:
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.article", slug=article.slug))
    return render_template("kb/edit.html", form=form, article=None, gap=gap), form_status()


@bp.post("/forum/t/<int:thread_id>/propose")
@login_required
def propose(thread_id: int):
    """Propose the accepted answer for the help center: staff land in the editor, the asker back on the thread."""
    thread = forum.get_thread_or_404(thread_id, current_user)
    done = run_service(lambda: promotion.propose_article(current_user, thread))
    if not done.ok or done.value is None:
        return redirect(url_for("forum.thread", thread_id=thread_id)), 303
    if current_user.is_staff:
        flash(_("The draft article is ready: review it, then publish it."), "success")
        return redirect(url_for("kb.edit_article", article_id=done.value.id)), 303
    flash(_("Thank you! Staff will review the answer before it appears in the help center."), "success")
    return redirect(url_for("forum.thread", thread_id=thread_id)), 303
