"""Long lists page by cursor: every thread and idea is reached exactly once by following Next (and back by
Previous), with plain links, in a fixed number of statements however long the list; old ?page= links work."""
from __future__ import annotations

import html
import re

import pytest

from community.extensions import db
from community.forum import services as forum
from community.ideas.services import cast_vote, submit_idea
from community.models import Thread

NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
PREV = re.compile(r'<a rel="prev" href="([^"]+)"')


def _page(client, path: str) -> str:
    with client.application.app_context():
        response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _walk(client, path: str, pattern: str, direction=NEXT) -> tuple[list[str], str]:
    """Every item id met following direction's links from path, and the last page's address."""
    seen: list[str] = []
    while True:
        text = _page(client, path)
        seen += list(dict.fromkeys(re.findall(pattern, text)))
        link = direction.search(text)
        if not link:
            return seen, path
        path = html.unescape(link.group(1))


def _threads(n: int, create_user, category) -> list[int]:
    author = create_user()
    ids = []
    for i in range(n):
        thread = forum.create_thread(author, category, f"Question number {i} about pairing", "Body", "")
        ids.append(thread.id)
    db.session.commit()
    return ids


@pytest.mark.parametrize("sort", ["latest", "new", "top"])
def test_next_and_previous_walk_the_whole_forum_once(app, client, create_user, busy, sort):
    category = forum.save_category(None, name="Getting started", description="")
    ids = _threads(53, create_user, category)
    reader = create_user()
    for thread_id in ids[::7]:  # replies change the order of "latest" and "top"
        forum.post_reply(reader, db.session.get(Thread, thread_id), "An answer")
    db.session.commit()
    pattern = r'href="/forum/t/(\d+)"'
    forward, last = _walk(client, f"/forum/?sort={sort}", pattern)
    assert sorted(map(int, forward)) == sorted(ids) and len(forward) == len(set(forward))
    back, _first = _walk(client, last, pattern, direction=PREV)
    assert sorted(map(int, back)) == sorted(ids)
    on_category, _ = _walk(client, f"/forum/c/{category.slug}?sort={sort}", pattern)
    assert on_category == forward


def test_old_page_links_still_work(app, client, create_user, busy):
    category = forum.save_category(None, name="Getting started", description="")
    ids = _threads(45, create_user, category)
    text = _page(client, "/forum/?page=2")
    shown = [int(i) for i in dict.fromkeys(re.findall(r'href="/forum/t/(\d+)"', text))]
    assert len(shown) == forum.PER_PAGE and set(shown) <= set(ids)
    assert NEXT.search(text) and PREV.search(text)
    nxt = _page(client, html.unescape(NEXT.search(text).group(1)))
    assert not set(re.findall(r'href="/forum/t/(\d+)"', nxt)) & set(map(str, shown))


def test_a_forged_cursor_is_a_clear_404(app, client, busy):
    with app.app_context():
        response = client.get("/forum/?after=not-a-cursor")
    assert response.status_code == 404
    assert "This page link is not valid any more" in response.get_data(as_text=True)
    with app.app_context():
        response = client.get("/ideas/?before=eyJ4Ijp9", follow_redirects=True)
    assert "This page link is not valid any more" in response.get_data(as_text=True)


@pytest.mark.parametrize("sort", ["trending", "top", "new", "status"])
def test_next_and_previous_walk_the_whole_board_once(app, client, create_user, busy, sort):
    author = create_user()
    voters = [create_user() for _ in range(3)]
    ids = []
    for i in range(47):
        idea = submit_idea(author, f"Idea number {i} about exports", "Body", None, None, limit_rate=False)
        ids.append(idea.id)
        for voter in voters[: i % 4]:
            cast_vote(voter, idea)
    db.session.commit()
    pattern = r'href="/ideas/(\d+)"'
    forward, last = _walk(client, f"/ideas/?sort={sort}", pattern)
    assert sorted(map(int, forward)) == sorted(ids) and len(forward) == len(set(forward))
    back, _ = _walk(client, last, pattern, direction=PREV)
    assert sorted(map(int, back)) == sorted(ids)


def test_a_deep_page_runs_as_many_statements_as_the_first(app, client, create_user, count_queries, busy):
    category = forum.save_category(None, name="Getting started", description="")
    _threads(100, create_user, category)

    def statements(path: str) -> tuple[int, str]:
        db.session.expire_all()
        with app.app_context(), count_queries() as queries:
            response = client.get(path)
        assert response.status_code == 200
        return queries.count, response.get_data(as_text=True)

    first, text = statements("/forum/")
    counts = []
    for _ in range(3):
        link = NEXT.search(text)
        assert link
        count, text = statements(html.unescape(link.group(1)))
        counts.append(count)
    assert counts == [first] * 3, (first, counts)


def test_a_help_center_category_pages_by_cursor_and_the_index_stays_short(
        app, client, create_user, count_queries, busy):
    from community.kb.services import create_article, ensure_category
    from community.models import ArticleStatus

    category = ensure_category("setup", "Setup")
    slugs = [create_article(f"Article {i:03d} on pairing", "Body text.", category=category,
                            status=ArticleStatus.published).slug for i in range(123)]
    create_article("A draft nobody sees", "Body.", category=category)
    db.session.commit()
    pattern = r'href="/help/articles/([^"#?]+)"'
    forward, last = _walk(client, "/help/categories/setup", pattern)
    assert forward == sorted(slugs)  # by title, each once
    back, _ = _walk(client, last, pattern, direction=PREV)
    assert sorted(back) == sorted(slugs)

    index = _page(client, "/help/")
    assert len(set(re.findall(pattern, index))) == 6 and "All 123 articles" in index

    def statements(path: str) -> int:
        db.session.expire_all()
        with app.app_context(), count_queries() as queries:
            assert client.get(path).status_code == 200
        return queries.count

    second = html.unescape(NEXT.search(_page(client, "/help/categories/setup")).group(1))
    third = html.unescape(NEXT.search(_page(client, second)).group(1))
    assert statements("/help/categories/setup") == statements(second) == statements(third)
