"""Help-center services keep the index table and each process's cache in step with articles."""
import pytest
from sqlalchemy import func, select

from community import search
from community.extensions import db
from community.kb import services
from community.models import Article, ArticleStatus, index_entries

REFUND = """Refunds are possible within 14 days of a payment.

## How to ask for a refund
Open Settings › Billing › Payments and choose **Request refund** next to the payment.

## Annual plans
Annual Team plans are refunded pro rata after the first 14 days."""


def live_entries(source_id) -> int:
    t = index_entries.c
    return db.session.scalar(select(func.count()).where(
        t.source_type == "article", t.source_id == str(source_id), t.deleted.is_(False)))


def publish(title, body, questions=()):
    article = services.create_article(title, body, questions=questions, status=ArticleStatus.published)
    db.session.commit()
    return article


def test_published_article_is_searchable_with_its_questions(app):
    article = publish("Get a refund", REFUND, ["can I get my money back?"])
    publish("Install on Linux", "Download the .deb or .rpm package and install it with your package manager.")
    hits = search.search("I want my money back", k=3, source_types=["article"])
    assert hits[0].source_id == str(article.id)
    assert hits[0].meta["url"] == f"/help/articles/{article.slug}"
    # title + 3 body sections + 1 question, and the bot's sentence and heading passages (never search hits)
    from knowledge_index.chunking import article_passages, is_part_passage

    parts = [p for p in article_passages("Get a refund", REFUND, with_sentences=True) if is_part_passage(p.chunk_key)]
    assert live_entries(article.id) == 5 + len(parts)


def test_heading_path_is_kept(app):
    publish("Get a refund", REFUND)
    hit = search.search("annual team plan refund pro rata", k=1)[0]
    assert hit.heading_path == ["Annual plans"]
    start, end = hit.span
    assert "pro rata" in hit.text[start:end]


def test_editing_one_section_reembeds_only_that_section(app):
    article = publish("Get a refund", REFUND)
    t = index_entries.c
    before = dict(db.session.execute(select(t.chunk_key, t.seq).where(t.source_id == str(article.id))).all())
    services.update_article(article, body=REFUND.replace("pro rata", "in proportion to unused months"))
    db.session.commit()
    after = dict(db.session.execute(select(t.chunk_key, t.seq).where(t.source_id == str(article.id))).all())
    changed = [k for k in after if after[k] != before.get(k)]
    assert len(changed) == 1 and "annual" in changed[0].lower()
    assert search.search("unused months", k=1)[0].source_id == str(article.id)


def test_unpublish_and_delete_leave_the_index(app):
    article = publish("Get a refund", REFUND)
    assert search.search("refund", k=5, source_types=["article"])
    services.update_article(article, status=ArticleStatus.draft)
    db.session.commit()
    assert live_entries(article.id) == 0
    assert not search.search("refund within 14 days", k=5, source_types=["article"])
    services.update_article(article, status=ArticleStatus.published)
    db.session.commit()
    assert search.search("refund within 14 days", k=1)[0].source_id == str(article.id)
    services.delete_article(article)
    db.session.commit()
    assert live_entries(article.id) == 0 and not search.search("refund within 14 days", k=5)


def test_failed_transaction_leaves_index_and_content_unchanged(app):
    publish("Get a refund", REFUND)
    services.create_article("Sync conflicts", "A conflicted copy appears when two devices edit offline.",
                            status=ArticleStatus.published)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Article)) == 1
    assert all(h.title != "Sync conflicts" for h in search.search("conflicted copy", k=5))


def test_bad_article_input_writes_nothing(app):
    with pytest.raises(services.ValidationFailed):
        services.create_article("   ", "body")
    with pytest.raises(services.ValidationFailed):
        services.create_article("Title", "x" * (services.MAX_BODY + 1))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Article)) == 0
    assert db.session.scalar(select(func.count()).select_from(index_entries)) == 0


def test_similar_groups_by_document(app):
    a = publish("Export notes to PDF", "Use File › Export › PDF.", ["how do I save a note as pdf"])
    publish("Delete your account", "Settings › Account › Delete account.")
    matches = search.similar("save my note as a PDF file", source_types=["article"], k=5)
    assert matches[0].source_id == str(a.id)
    assert len({m.source_id for m in matches}) == len(matches)
    assert not search.similar("save my note as a PDF file", source_types=["article"],
                              exclude=[("article", str(a.id))], min_score=0.8)
