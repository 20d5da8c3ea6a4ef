"""Help center pages."""
from flask import render_template

from community.kb import bp, queries
from community.markup import render_markdown


@bp.get("/")
def index():
    return render_template(
        "kb/index.html",
        categories=queries.categories_with_articles(),
        uncategorised=queries.uncategorised_articles(),
    )


@bp.get("/categories/<slug>")
def category(slug: str):
    cat = queries.get_category_or_404(slug)
    articles = [a for a in cat.articles if a.is_published]
    return render_template("kb/category.html", category=cat, articles=sorted(articles, key=lambda a: a.title))


@bp.get("/articles/<slug>")
def article(slug: str):
    art = queries.get_article_or_404(slug)
    return render_template("kb/article.html", article=art, body=render_markdown(art.body))
