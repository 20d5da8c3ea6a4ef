"""Help center pages."""
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from community.kb import bp, feedback, queries
from community.pagecache import anonymous_page
from community.rendered import body_html
from community.viewhelpers import FORM_ERROR_STATUS, page_arg, run_service

# Articles this browser has already answered "did this answer your question?" for (kept short).
FEEDBACK_SESSION_KEY = "kb_feedback"
FEEDBACK_REMEMBERED = 50


@bp.get("/")
@anonymous_page
def index():
    categories, uncategorised = queries.categories_with_articles(), queries.uncategorised_articles()
    # Everything the listing shows: its fragment cache key (the same listing for every reader).
    listing_key = ("kb-index", tuple((c.id, c.slug, c.name, c.description, n, tuple((a.slug, a.title) for a in arts))
                                     for c, arts, n in categories),
                   tuple((a.slug, a.title) for a in uncategorised))
    return render_template("kb/index.html", categories=categories, uncategorised=uncategorised, listing_key=listing_key)


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:300]
    hits = queries.search_articles(query) if query else []
    return render_template("kb/search.html", query=query, hits=hits)


@bp.get("/categories/<slug>")
@anonymous_page
def category(slug: str):
    cat = queries.get_category_or_404(slug)
    listing = queries.category_articles(cat, after=request.args.get("after") or None,
                                        before=request.args.get("before") or None, page=page_arg())
    return render_template("kb/category.html", category=cat, articles=listing.items, listing=listing)


def _render_article(art, *, feedback_error: str | None = None, comment: str = "", status: int = 200):
    answered = art.id in session.get(FEEDBACK_SESSION_KEY, [])
    related = queries.related_articles(art) if art.is_published else []
    return render_template("kb/article.html", article=art, body=body_html(art), related=related,
                           feedback_given=answered, feedback_error=feedback_error, comment=comment), status


@bp.get("/articles/<slug>")
@anonymous_page
def article(slug: str):
    return _render_article(queries.get_article_or_404(slug))


@bp.post("/articles/<slug>/feedback")
def article_feedback(slug: str):
    art = queries.get_article_or_404(slug)
    helpful = request.form.get("helpful")
    if helpful not in ("yes", "no"):
        return _render_article(art, feedback_error=_("Choose yes or no."), status=FORM_ERROR_STATUS)
    comment = request.form.get("comment", "")
    user_id = current_user.id if current_user.is_authenticated else None
    outcome = run_service(lambda: feedback.give_feedback(art, helpful=helpful == "yes", comment=comment,
                                                         user_id=user_id))
    if outcome.error is not None:
        return _render_article(art, feedback_error=outcome.error.message, comment=comment, status=FORM_ERROR_STATUS)
    session[FEEDBACK_SESSION_KEY] = (session.get(FEEDBACK_SESSION_KEY, []) + [art.id])[-FEEDBACK_REMEMBERED:]
    flash(_("Thanks for your feedback."), "success")
    return redirect(url_for("kb.article", slug=art.slug, _anchor="feedback"))
