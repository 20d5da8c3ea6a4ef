"""Help-center search, "did this answer your question?" and related articles on article pages."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from community import search
from community.extensions import db
from community.models import ArticleFeedback, GapSource, GapVariant, KnowledgeGap
from tests.conftest import csrf_token



def test_home_and_help_center_offer_search(client):
    for path in ("/", "/help/"):
        page = client.get(path).get_data(as_text=True)
        assert 'action="/help/search"' in page and 'name="q"' in page, path


def test_search_finds_the_article_for_a_paraphrase_with_count_and_marks(client, help_center):
    page = client.get("/help/search?q=I+forgot+my+password").get_data(as_text=True)
    results = re.findall(r'<li class="search-hit".*?</li>', page, re.S)
    assert results, page
    assert f'href="/help/articles/{help_center["reset-password"].slug}"' in results[0]
    assert re.search(r"\d+ articles? found for “I forgot my password”", page)
    assert "<mark>password</mark>" in page.lower() or "<mark>Password</mark>" in page


def test_search_escapes_what_was_typed(client, help_center):
    page = client.get("/help/search?q=%3Cscript%3Ealert(1)%3C/script%3E+password").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page


def test_empty_search_shows_the_box_without_results(client, help_center):
    page = client.get("/help/search?q=").get_data(as_text=True)
    assert "articles found" not in page and 'name="q"' in page


def test_article_page_shows_related_articles_without_running_the_model(client, help_center, monkeypatch):
    cache = search.get_cache()
    calls = []
    embedder = cache.embedder
    for name in ("encode", "encode_query"):
        original = getattr(embedder, name)
        monkeypatch.setattr(embedder, name, lambda *a, _o=original, _n=name, **k: calls.append(_n) or _o(*a, **k))
    page = client.get(f"/help/articles/{help_center['install-android'].slug}").get_data(as_text=True)
    assert calls == []
    related = re.search(r'<section class="related-articles".*?</section>', page, re.S)
    assert related, "no related articles"
    assert f'/help/articles/{help_center["install-ios"].slug}"' in related.group(0)
    assert f'/help/articles/{help_center["install-android"].slug}"' not in related.group(0)


def _feedback(client, slug, **data):
    token = csrf_token(client, f"/help/articles/{slug}")
    return client.post(f"/help/articles/{slug}/feedback", data={"csrf_token": token, **data})


def test_yes_is_counted_and_thanked(client, help_center):
    slug = help_center["refund-policy"].slug
    response = _feedback(client, slug, helpful="yes")
    assert response.status_code == 302
    rows = db.session.scalars(select(ArticleFeedback)).all()
    assert [(r.article_id, r.helpful) for r in rows] == [(help_center["refund-policy"].id, True)]
    page = client.get(f"/help/articles/{slug}").get_data(as_text=True)
    assert "Thanks for telling us" in page and "Did this answer your question?" not in page


def test_no_with_what_was_missing_becomes_a_knowledge_gap(client, help_center):
    slug = help_center["refund-policy"].slug
    assert _feedback(client, slug, helpful="no", comment="refund for a yearly plan bought in the app store").status_code == 302
    variant = db.session.scalar(select(GapVariant))
    assert variant.source is GapSource.article_feedback
    assert variant.question == "refund for a yearly plan bought in the app store"
    assert db.session.scalar(select(func.count()).select_from(KnowledgeGap)) == 1


def test_bad_feedback_is_refused_and_nothing_is_stored(client, help_center):
    slug = help_center["refund-policy"].slug
    assert _feedback(client, slug, helpful="maybe").status_code == 422
    response = _feedback(client, slug, helpful="no", comment="x" * 501)
    assert response.status_code == 422
    assert "under 500 characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ArticleFeedback)) == 0
    assert db.session.scalar(select(func.count()).select_from(GapVariant)) == 0


def test_feedback_needs_the_csrf_token(client, help_center):
    slug = help_center["refund-policy"].slug
    assert client.post(f"/help/articles/{slug}/feedback", data={"helpful": "yes"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ArticleFeedback)) == 0


def test_search_lists_only_articles_about_the_query(client, help_center):
    page = client.get("/help/search?q=install+the+app+on+my+android+phone").get_data(as_text=True)
    links = re.findall(r'<li class="search-hit".*?href="/help/articles/([^"]+)"', page, re.S)
    assert links[0] == help_center["install-android"].slug
    assert help_center["refund-policy"].slug not in links


def test_staff_article_list_searches_filters_and_pages(client, auth, create_user):
    from community.kb import services as kb
    from community.models import ArticleStatus, Role

    create_user("sam@example.com", role=Role.staff)
    for n in range(55):
        kb.create_article(f"Guide number {n:02d}", "Body.", status=ArticleStatus.draft if n % 5 else ArticleStatus.published)
    kb.create_article("Export your notes", "Body.", status=ArticleStatus.published)
    db.session.commit()
    auth.login("sam@example.com")
    first = client.get("/help/manage").get_data(as_text=True)
    assert "56 articles" in first and "Page 1 of 2" in first
    assert first.count('<tr>') - 1 == 50  # header row + one page
    found = client.get("/help/manage?q=EXPORT").get_data(as_text=True)
    assert "1 article<" in found and "Export your notes" in found and "Guide number" not in found
    published = client.get("/help/manage?status=published").get_data(as_text=True)
    assert "12 articles" in published
    empty = client.get("/help/manage?q=nothing-like-this").get_data(as_text=True)
    assert "No article matches these filters." in empty
    editor = client.get("/help/manage/new").get_data(as_text=True)
    assert 'class="md-preview' in editor and "js/forum.js" in editor
