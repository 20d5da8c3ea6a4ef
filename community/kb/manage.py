"""Staff pages to write, edit and publish help-center articles."""
from __future__ import annotations

import logging
from typing import Any, Callable

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
from community.viewhelpers import form_status, page_arg, run_service

log = logging.getLogger(__name__)


def category_choices() -> list[SelectChoice]:
    cats = db.session.scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.name))
    return [SelectChoice("", _("No category"))] + [SelectChoice(c.slug, c.name) for c in cats]


def _category(slug: str | None) -> KbCategory | None:
    return db.session.scalar(select(KbCategory).where(KbCategory.slug == slug)) if slug else None


def article_fields(form: ArticleForm) -> dict[str, Any]:
    """The editor form as plain arguments for services.save_article."""
    return {
        "title": form.title.data,
        "body": form.body.data or "",
        "questions": [q for q in (form.questions.data or "").splitlines() if q.strip()],
        "category": _category(form.category.data),
        "status": ArticleStatus(form.status.data),
    }


def commit_article(form: ArticleForm, article: Article | None, save: Callable[[], Article]) -> Article | None:
    """Run an article save and commit; None (with the messages shown) when it is refused or fails.

    A failed publication keeps nothing (the form keeps the text), so the draft and whatever waits on
    it stay as they were, and the editor says so instead of showing an error page.
    """
    publishing = form.status.data == ArticleStatus.published.value and (article is None or not article.is_published)
    try:
        return run_service(save, form).value
    except DomainError:
        raise
    except Exception:
        if not publishing:
            raise
        log.exception("publishing article failed")
        flash(_("The article could not be published, so nothing was changed: it is still a draft and its "
                "questions are still open. Your text is below; please try again in a moment."), "error")
        return None


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
        article = commit_article(form, None, lambda: services.save_article(None, author=current_user, **article_fields(form)))
        if article is not None:
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.article", slug=article.slug))
    return render_template("kb/edit.html", form=form, article=None), form_status()


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
        saved = commit_article(form, article, lambda: services.save_article(article, author=current_user, **article_fields(form)))
        if saved is not None:
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.article", slug=saved.slug))
    return render_template("kb/edit.html", form=form, article=article,
                           learned=queries.learned_questions(article)), form_status()
