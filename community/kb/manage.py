"""Staff pages to write, edit and publish help-center articles."""
import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from community.access import staff_required
from community.errors import DomainError
from community.extensions import db
from community.kb import bp, queries, services
from community.kb.forms import ArticleForm
from community.models import Article, ArticleSource, ArticleStatus, KbCategory
from community.viewhelpers import page_arg, show_form_error

log = logging.getLogger(__name__)


def category_choices() -> list[SelectChoice]:
    cats = db.session.scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.name))
    return [SelectChoice("", _("No category"))] + [SelectChoice(c.slug, c.name) for c in cats]


def _category(slug: str | None) -> KbCategory | None:
    return db.session.scalar(select(KbCategory).where(KbCategory.slug == slug)) if slug else None



def save_article_form(form: ArticleForm, article: Article | None, gap=None) -> Article | None:
    """Create or update from a validated form; returns None (with messages) when refused.

    With a knowledge gap, the new article answers it: publishing closes the gap and tells its askers.
    Publishing goes through the one publish service; if it fails nothing is kept (the form keeps
    the text), so the draft and the gaps stay as they were.
    """
    from bot import promotion
    from bot.capture import close_gaps_for

    questions = [q for q in (form.questions.data or "").splitlines() if q.strip()]
    status = ArticleStatus(form.status.data)
    publishing = status is ArticleStatus.published and (article is None or not article.is_published)
    saved_status = ArticleStatus.draft if publishing and article is None else (None if publishing else status)
    try:
        if article is None:
            article = services.create_article(
                form.title.data, form.body.data or "", questions=questions, category=_category(form.category.data),
                status=saved_status, author=current_user,
            )
            if gap is not None:
                gap.article_id = article.id
        else:
            services.update_article(
                article, title=form.title.data, body=form.body.data or "", questions=questions,
                category=_category(form.category.data), status=saved_status,
            )
        if publishing:
            promotion.publish_article(article, current_user)
        else:
            close_gaps_for(article, current_user)
            promotion.sync_origin_thread(article)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        show_form_error(error, form)
        return None
    except Exception:
        db.session.rollback()
        if not publishing:
            raise
        log.exception("publishing article failed")
        flash(_("The article could not be published, so nothing was changed: it is still a draft and its "
                "questions are still open. Your text is below; please try again in a moment."), "error")
        return None
    return article


@bp.get("/manage")
@staff_required
def manage():
    filters = queries.ArticleFilters(
        q=request.args.get("q", "").strip()[:200], status=request.args.get("status", ""),
        source=request.args.get("source", ""), category=request.args.get("category", ""),
        needs_review=request.args.get("needs_review") == "1",
    )
    page = queries.manage_articles(filters, page=page_arg())
    return render_template("kb/manage.html", page=page, filters=filters, categories=category_choices(),
                           statuses=[s.value for s in ArticleStatus], sources=[s.value for s in ArticleSource])


@bp.route("/manage/new", methods=["GET", "POST"])
@staff_required
def new_article():
    form = ArticleForm()
    form.category.choices = category_choices()
    if form.validate_on_submit():
        article = save_article_form(form, None)
        if article is not None:
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.article", slug=article.slug))
    return render_template("kb/edit.html", form=form, article=None), 400 if request.method == "POST" else 200


@bp.route("/manage/<int:article_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_article(article_id: int):
    article = db.get_or_404(Article, article_id)
    form = ArticleForm(obj=article)
    form.category.choices = category_choices()
    if request.method == "GET":
        form.category.data = article.category.slug if article.category else ""
        form.questions.data = "\n".join(article.questions or [])
        form.status.data = article.status.value
    if form.validate_on_submit():
        saved = save_article_form(form, article)
        if saved is not None:
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.article", slug=saved.slug))
    return render_template("kb/edit.html", form=form, article=article), 400 if request.method == "POST" else 200
