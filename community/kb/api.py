"""JSON API for the help center: categories and articles to read, and for staff to write and import."""
from __future__ import annotations

from typing import Any

from flask import abort
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from community.api.cursor import CursorQuerySchema, keyset_page, page_schema
from community.errors import NotFound, Conflict, Forbidden, ValidationFailed
from community.extensions import db
from community.kb import importing, services
from community.models import Article, ArticleStatus, KbCategory
from community.viewhelpers import commit_or_rollback, signed_in_or_401
from knowledge_index.importers import ImportedDocument, guess_format

blp = Blueprint("api_kb", __name__, url_prefix="/kb", description="Help-center categories and articles")

MAX_IMPORT = 500
STATUSES = [s.value for s in ArticleStatus]


class KbCategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(load_default=None, allow_none=True,
                         metadata={"description": "made from the name when left out"})
    name = fields.String(required=True, validate=validate.Length(1, 120))
    description = fields.String(load_default="", metadata={"description": "Markdown"})
    position = fields.Integer(load_default=0)


class ArticleSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(dump_only=True)
    title = fields.String(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown (or HTML with body_format html)"})
    body_format = fields.String(load_default="markdown", validate=validate.OneOf(["markdown", "html"]))
    questions = fields.List(fields.String(), load_default=list,
                            metadata={"description": "other ways customers ask what the article answers"})
    category = fields.String(load_only=True, load_default=None, allow_none=True,
                             metadata={"description": "category slug"})
    category_slug = fields.Function(lambda a: a.category.slug if a.category else None, dump_only=True,
                                    allow_none=True)
    status = fields.Enum(ArticleStatus, by_value=True, load_default=ArticleStatus.draft,
                         metadata={"description": "publishing indexes it for the bot and closes the gaps "
                                                    "waiting on it"})
    source = fields.Function(lambda a: a.source.value, dump_only=True)
    external_id = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    url = fields.Function(lambda a: services.article_url(a), dump_only=True)


class ArticlePatchSchema(Schema):
    title = fields.String()
    body = fields.String()
    body_format = fields.String(validate=validate.OneOf(["markdown", "html"]))
    questions = fields.List(fields.String())
    category = fields.String(allow_none=True, metadata={"description": "category slug; null removes it"})
    status = fields.Enum(ArticleStatus, by_value=True)


class ArticleQuerySchema(CursorQuerySchema):
    category = fields.String(load_default=None, metadata={"description": "category slug"})
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES),
                           metadata={"description": "staff only; others always see published articles"})


ArticlePageSchema = page_schema(ArticleSchema, "ArticlePage")


class ImportRecordSchema(Schema):
    id = fields.String(required=True, validate=validate.Length(1, 200),
                       metadata={"description": "your id for the article: importing it again updates it"})
    title = fields.String(required=True)
    body = fields.String(required=True)
    questions = fields.List(fields.String(), load_default=list)
    category = fields.String(load_default=None, allow_none=True)
    format = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["markdown", "html"]))


class ImportSchema(Schema):
    articles = fields.List(fields.Nested(ImportRecordSchema), required=True,
                           validate=validate.Length(1, MAX_IMPORT))
    prefix = fields.String(load_default="", validate=validate.Length(0, 40),
                           metadata={"description": "namespaces the ids, e.g. the source system's name"})


class ImportResultSchema(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    rejected = fields.List(fields.Dict(), required=True,
                           metadata={"description": "{index, reason} for each article not imported"})


def _staff():
    user = signed_in_or_401()
    if not user.is_staff:
        raise Forbidden(_("Only staff can change the help center."))
    return user


def _category(slug: str | None) -> KbCategory | None:
    if not slug:
        return None
    category = db.session.scalar(select(KbCategory).where(KbCategory.slug == slug))
    if category is None:
        message = _("There is no category %(slug)s.", slug=slug)
        raise NotFound(message, {"category": [message]})
    return category


def _article(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    staff = current_user.is_authenticated and current_user.is_staff
    if article is None or not (article.is_published or staff):
        abort(404, description=_("This article does not exist."))
    return article


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, KbCategorySchema(many=True))
    def get(self):
        """Help-center categories in display order."""
        return list(db.session.scalars(select(KbCategory).order_by(KbCategory.position, KbCategory.name)))

    @blp.arguments(KbCategorySchema)
    @blp.response(201, KbCategorySchema)
    @blp.alt_response(403, description="Staff only")
    @blp.alt_response(409, description="A category with this slug exists")
    def post(self, data):
        """Create a category (staff)."""
        _staff()
        slug = services.slugify(data["slug"] or data["name"])
        if not slug:
            raise ValidationFailed(_("Give the category a name with letters or digits."), {"name": [_("Required.")]})
        if db.session.scalar(select(KbCategory.id).where(KbCategory.slug == slug)) is not None:
            raise Conflict(_("A category %(slug)s exists already.", slug=slug), {"slug": [_("Taken.")]})
        return commit_or_rollback(lambda: services.ensure_category(slug, data["name"], data["description"],
                                                                   data["position"]))


@blp.route("/articles")
class Articles(MethodView):
    @blp.arguments(ArticleQuerySchema, location="query")
    @blp.response(200, ArticlePageSchema)
    @blp.alt_response(422, description="Malformed filter or cursor")
    def get(self, args):
        """Articles in order of their last change (published ones; staff may ask for drafts), cursor-paged."""
        stmt = select(Article)
        staff = current_user.is_authenticated and current_user.is_staff
        status = args["status"] if staff and args["status"] else ArticleStatus.published.value
        stmt = stmt.where(Article.status == ArticleStatus(status))
        if args["category"]:
            category = _category(args["category"])
            stmt = stmt.where(Article.category_id == (category.id if category else None))
        return keyset_page(stmt, Article.updated_at, Article.id, args)

    @blp.arguments(ArticleSchema)
    @blp.response(201, ArticleSchema)
    @blp.alt_response(403, description="Staff only")
    @blp.alt_response(422, description="Invalid fields")
    def post(self, data):
        """Write an article (staff); status published makes it live and closes the gaps waiting on it."""
        staff = _staff()
        category = _category(data["category"])

        def create() -> Article:
            article = services.create_article(data["title"], data["body"], questions=data["questions"],
                                              category=category, author=staff, body_format=data["body_format"])
            if data["status"] is ArticleStatus.published:
                services.publish_article(article, staff)
            elif data["status"] is not ArticleStatus.draft:
                services.update_article(article, status=data["status"])
            return article

        return commit_or_rollback(create)


@blp.route("/articles/<int:article_id>")
class ArticleResource(MethodView):
    @blp.response(200, ArticleSchema)
    @blp.alt_response(404, description="No such article (drafts are staff only)")
    def get(self, article_id):
        """One article."""
        return _article(article_id)

    @blp.arguments(ArticlePatchSchema)
    @blp.response(200, ArticleSchema)
    @blp.alt_response(403, description="Staff only")
    @blp.alt_response(422, description="Invalid fields")
    def patch(self, data, article_id):
        """Change an article (staff): only the fields sent change."""
        staff = _staff()
        article = _article(article_id)
        category: Any = _category(data["category"]) if data.get("category") else (None if "category" in data else False)
        status = data.get("status")

        def change() -> Article:
            services.update_article(article, title=data.get("title"), body=data.get("body"),
                                    questions=data.get("questions"), category=category,
                                    body_format=data.get("body_format"),
                                    status=None if status is ArticleStatus.published else status)
            if status is ArticleStatus.published and not article.is_published:
                services.publish_article(article, staff)
            return article

        return commit_or_rollback(change)


@blp.route("/import")
class Import(MethodView):
    @blp.arguments(ImportSchema)
    @blp.response(200, ImportResultSchema)
    @blp.alt_response(403, description="Staff only")
    @blp.alt_response(422, description="Malformed request (no article is imported then)")
    def post(self, data):
        """Import up to 500 articles by your ids (staff): new ones are published, changed ones updated,
        the same ones left alone; an invalid article is reported by its index and the others imported."""
        _staff()
        records = [ImportedDocument(external_id=r["id"], title=r["title"], body=r["body"],
                                    format=r["format"] or guess_format(r["body"]),
                                    questions=tuple(r["questions"]),
                                    meta={"category": r["category"]} if r["category"] else {},
                                    origin=f"articles:{i}")
                   for i, r in enumerate(data["articles"])]
        report = commit_or_rollback(lambda: importing.import_records(records, prefix=data["prefix"]))
        return {"created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                "rejected": [{"index": index, "reason": reason} for index, reason in report.rejected]}
