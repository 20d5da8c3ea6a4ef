"""Help-center rules: write, publish and import articles; keep the search index in step."""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from community import search
from community.hooks import article_saved
from community.errors import ValidationFailed
from community.extensions import db
from community.models import Article, ArticleSource, ArticleStatus, KbCategory, User, utcnow
from community.webhooks import emit_event, payloads

MAX_TITLE = 200
MAX_BODY = 100_000
MAX_QUESTIONS = 50
MAX_QUESTION = 300
BODY_FORMATS = ("markdown", "html", "text")


def slugify(text: str, max_len: int = 80) -> str:
    """A URL slug; non-Latin titles keep their letters (browsers show them fine)."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    slug = re.sub(r"[^\w]+", "-", norm).strip("-_")
    return slug[:max_len].strip("-") or "article"


def _unique_slug(base: str, exclude_id: int | None = None) -> str:
    slug, n = base, 1
    while True:
        found = db.session.scalar(select(Article.id).where(Article.slug == slug))
        if found is None or found == exclude_id:
            return slug
        n += 1
        slug = f"{base}-{n}"


def article_url(article: Article) -> str:
    """The public path of an article (stored in index metadata for citations)."""
    return f"/help/articles/{article.slug}"


def content_hash(title: str, body: str, questions: Sequence[str], category: str | None) -> str:
    """Fingerprint of what an import controls, so unchanged records are skipped."""
    payload = json.dumps([title, body, list(questions), category], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def clean_questions(questions: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated alternative questions, validated for length."""
    out: list[str] = []
    seen: set[str] = set()
    for q in questions:
        q = " ".join(str(q).split())
        if not q:
            continue
        if len(q) > MAX_QUESTION:
            raise ValidationFailed(_("An alternative question is too long."), {"questions": [q[:60] + "…"]})
        if q.casefold() not in seen:
            seen.add(q.casefold())
            out.append(q)
    if len(out) > MAX_QUESTIONS:
        raise ValidationFailed(_("Too many alternative questions."), {"questions": [_("At most %(n)d.", n=MAX_QUESTIONS)]})
    return out


def _check(title: str, body: str, body_format: str) -> tuple[str, str]:
    title = " ".join(title.split())
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Enter a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("At most %(n)d characters.", n=MAX_TITLE)]
    if len(body) > MAX_BODY:
        errors["body"] = [_("At most %(n)d characters.", n=MAX_BODY)]
    if body_format not in BODY_FORMATS:
        errors["body_format"] = [_("Unknown format.")]
    if errors:
        raise ValidationFailed(_("The article could not be saved."), errors)
    return title, body


def reindex_article(article: Article) -> None:
    """Put a published article in the index, or take any other article out of it."""
    if article.status is ArticleStatus.published:
        search.index_document(
            "article",
            article.id,
            title=article.title,
            body=article.body,
            fmt=article.body_format,
            questions=article.questions or [],
            meta={
                "visibility": "public",
                "url": article_url(article),
                "category": article.category.slug if article.category else None,
                "lang": article.locale,
                "credited_user_id": article.credited_user_id,
            },
            # A promoted community answer opens with its question: no passage may lose it.
            lead_paragraph=article.origin_thread_id is not None,
            with_sentences=True,
        )
    else:
        search.remove_document("article", article.id)


def create_article(
    title: str,
    body: str,
    *,
    questions: Iterable[str] = (),
    category: KbCategory | None = None,
    status: ArticleStatus = ArticleStatus.draft,
    source: ArticleSource = ArticleSource.staff,
    author: User | None = None,
    credited_user: User | None = None,
    external_id: str | None = None,
    body_format: str = "markdown",
    slug: str | None = None,
    locale: str = "en",
    origin_thread_id: int | None = None,
) -> Article:
    """Create an article (indexed at once when published); flushes, never commits."""
    title, body = _check(title, body, body_format)
    qs = clean_questions(questions)
    article = Article(
        slug=_unique_slug(slugify(slug or title)),
        title=title,
        body=body,
        body_format=body_format,
        questions=qs,
        status=status,
        source=source,
        category=category,
        author=author,
        credited_user=credited_user,
        external_id=external_id,
        locale=locale,
        origin_thread_id=origin_thread_id,
        content_hash=content_hash(title, body, qs, category.slug if category else None),
        published_at=utcnow() if status is ArticleStatus.published else None,
    )
    db.session.add(article)
    db.session.flush()
    reindex_article(article)
    if status is ArticleStatus.published:
        emit_event("article.published", payloads.article(article))
    return article


def update_article(
    article: Article,
    *,
    title: str | None = None,
    body: str | None = None,
    questions: Iterable[str] | None = None,
    category: KbCategory | None | bool = False,
    status: ArticleStatus | None = None,
    body_format: str | None = None,
) -> Article:
    """Change an article and re-index only what changed; category=False means unchanged."""
    new_title, new_body = _check(
        article.title if title is None else title,
        article.body if body is None else body,
        body_format or article.body_format,
    )
    article.title, article.body = new_title, new_body
    if body_format:
        article.body_format = body_format
    if questions is not None:
        article.questions = clean_questions(questions)
    if not isinstance(category, bool):  # False (the default) leaves the category as it is
        article.category = category
    published = False
    if status is not None and status is not article.status:
        article.status = status
        published = status is ArticleStatus.published
        if published and article.published_at is None:
            article.published_at = utcnow()
    article.content_hash = content_hash(
        article.title, article.body, article.questions, article.category.slug if article.category else None
    )
    article.updated_at = utcnow()
    db.session.flush()
    reindex_article(article)
    if published:
        emit_event("article.published", payloads.article(article))
    return article


def save_article(
    article: Article | None,
    *,
    title: str,
    body: str,
    questions: Iterable[str],
    category: KbCategory | None,
    status: ArticleStatus,
    author: User | None,
) -> Article:
    """Create or update an article from the editor; publishing goes through publish_article. Flushes only."""
    publishing = status is ArticleStatus.published and (article is None or not article.is_published)
    # A new article is first saved as a draft, so that whatever waits on it (a gap) can point at it
    # before it is published; an existing one keeps its status until publish_article changes it.
    saved_status = ArticleStatus.draft if publishing and article is None else (None if publishing else status)
    if article is None:
        article = create_article(title, body, questions=questions, category=category,
                                 status=saved_status or ArticleStatus.draft, author=author)
    else:
        update_article(article, title=title, body=body, questions=questions, category=category, status=saved_status)
    if publishing:
        publish_article(article, author)
    else:
        article_saved.send(article, staff=author, first_publish=False)
    return article


def publish_article(article: Article, staff: User | None) -> Article:
    """Publish an article (indexed at once) and let the features that wait on it react. Flushes only."""
    first_publish = not article.is_published
    update_article(article, status=ArticleStatus.published)
    article_saved.send(article, staff=staff, first_publish=first_publish)
    return article


def add_questions(article: Article, questions: Iterable[str]) -> Article:
    """Append alternative questions (e.g. a knowledge gap's variants) and re-index at once."""
    return update_article(article, questions=[*(article.questions or []), *questions])


def delete_article(article: Article) -> None:
    """Delete an article and its index entries in one transaction."""
    search.remove_document("article", article.id)
    db.session.delete(article)
    db.session.flush()


def ensure_category(slug: str, name: str | None = None, description: str = "", position: int = 0) -> KbCategory:
    """Return the category with slug, creating it when missing."""
    cat = db.session.scalar(select(KbCategory).where(KbCategory.slug == slug))
    if cat is None:
        cat = KbCategory(slug=slugify(slug), name=name or slug.replace("-", " ").title(),
                         description=description, position=position)
        db.session.add(cat)
        db.session.flush()
    return cat


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line or record number, reason)

    def summary(self) -> str:
        return (f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
                f"{len(self.rejected)} rejected")


def import_document(
    external_id: str,
    title: str,
    body: str,
    *,
    questions: Sequence[str] = (),
    body_format: str = "markdown",
    category_slug: str | None = None,
    slug: str | None = None,
    report: ImportReport,
) -> Article | None:
    """Create or update one imported article by its external id; unchanged records are left alone."""
    category = ensure_category(category_slug) if category_slug else None
    qs = clean_questions(questions)
    title_clean, body_clean = _check(title, body, body_format)
    digest = content_hash(title_clean, body_clean, qs, category.slug if category else None)
    article = db.session.scalar(select(Article).where(Article.external_id == external_id))
    if article is None:
        report.created += 1
        return create_article(
            title_clean, body_clean, questions=qs, category=category, status=ArticleStatus.published,
            source=ArticleSource.imported, external_id=external_id, body_format=body_format, slug=slug,
        )
    if article.content_hash == digest:
        report.unchanged += 1
        return article
    report.updated += 1
    return update_article(article, title=title_clean, body=body_clean, questions=qs,
                          category=category, body_format=body_format)
