from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from bot import capture
from community.access import staff_required
from community.errors import DomainError
from community.extensions import db
from community.insights import bp
from community.kb.forms import ArticleForm, DismissGapForm, LinkGapForm
from community.models import Article, ArticleStatus, GapStatus, KnowledgeGap


def _article_choices() -> list[SelectChoice]:
    articles = db.session.scalars(
        select(Article).where(Article.status == ArticleStatus.published).order_by(Article.title)
    )
    return [SelectChoice(str(a.id), a.title) for a in articles]


@bp.get("/gaps")
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
        "insights/gaps.html", ranked=capture.ranked_gaps(wanted), status=wanted.value,
        link_form=link_form, dismiss_form=DismissGapForm(),
    )


@bp.post("/gaps/<int:gap_id>/link")
@staff_required
def link_gap(gap_id: int):
    gap = db.get_or_404(KnowledgeGap, gap_id)
    form = LinkGapForm()
    article = db.session.get(Article, int(form.article.data)) if (form.article.data or "").isdigit() else None
    if not form.validate_on_submit() or article is None:
        flash(_("Choose an article to link."), "error")
        return redirect(url_for("insights.gaps"))
    try:
        capture.link_gap_to_article(gap, article, current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("The bot now answers these questions with “%(title)s”.", title=article.title), "success")
    return redirect(url_for("insights.gaps"))


@bp.post("/gaps/<int:gap_id>/dismiss")
@staff_required
def dismiss_gap(gap_id: int):
    gap = db.get_or_404(KnowledgeGap, gap_id)
    form = DismissGapForm()
    if not form.validate_on_submit():
        flash(_("Say why the gap is dismissed."), "error")
        return redirect(url_for("insights.gaps"))
    try:
        capture.dismiss_gap(gap, form.reason.data, current_user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("insights.gaps"))


@bp.route("/gaps/<int:gap_id>/write", methods=["GET", "POST"])
@staff_required
def write_article(gap_id: int):
    """Write an article from a gap: the form comes prefilled with the customers' wordings."""
    from community.kb.manage import category_choices, save_article_form

    gap = db.get_or_404(KnowledgeGap, gap_id)
    form = ArticleForm()
    form.category.choices = category_choices()
    if request.method == "GET":
        form.title.data = gap.title
        form.questions.data = "\n".join(capture.gap_questions(gap))
    if form.validate_on_submit():
        if gap.status is not GapStatus.open:
            flash(_("This gap is already closed."), "error")
            return redirect(url_for("insights.gaps"))
        article = save_article_form(form, None, gap=gap)
        if article is not None:
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.article", slug=article.slug))
    return render_template("kb/edit.html", form=form, article=None, gap=gap), 400 if request.method == "POST" else 200

