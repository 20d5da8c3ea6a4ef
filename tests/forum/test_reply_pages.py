"""A thread shows its replies a page at a time (issue 17: one thread of 75,301 replies took 9-21 s to render):
Newer / Older links walk every reply once and in order, in a fixed number of statements per page however long
the thread; links to one reply open the page holding it; the accepted answer is above every page; only the
last page takes new replies live; forged page links are a clear 404."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from community.extensions import db
from community.forum import services
from community.models import Notification, Reply, Thread, utcnow
from tests.conftest import csrf_token

NEWER = re.compile(r'<a rel="next" href="([^"]+)"')
OLDER = re.compile(r'<a rel="prev" href="([^"]+)"')
SHOWN = re.compile(r'<article class="post reply[^"]*" id="reply-(\d+)"')


@pytest.fixture
def long_thread(create_user, category, busy):
    """Factory: a thread with n replies by a few people, oldest first; every third pair of replies shares
    its instant (imports and the scale seed write many at one time), so the order needs the id too."""

    def make(n: int, title: str = "How do I pair the sensor with my phone?") -> tuple[Thread, list[int]]:
        people = [create_user() for _ in range(4)]
        thread = services.create_thread(people[0], category, title, "It blinks red.", "")
        start = utcnow() - timedelta(days=2)
        replies = [Reply(thread=thread, author=people[i % 4], body=f"Answer number {i} about pairing",
                         created_at=start + timedelta(seconds=i - i % 3)) for i in range(n)]
        db.session.add_all(replies)
        db.session.flush()
        services.recount_replies(thread)
        db.session.commit()
        ids = list(db.session.scalars(select(Reply.id).where(Reply.thread_id == thread.id)
                                      .order_by(Reply.created_at, Reply.id)))
        return thread, ids

    return make


def _get(client, path: str):
    # A request in an app context of its own, as in the server (the test's would share g between requests).
    with client.application.app_context():
        response = client.get(path)
    return response


def _page(client, path: str) -> str:
    response = _get(client, path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _shown(text: str) -> list[int]:
    return [int(i) for i in SHOWN.findall(text)]


def _walk(client, path: str, direction=NEWER) -> tuple[list[list[int]], str]:
    """The replies of every page met following direction's links from path, and the last page's address."""
    pages: list[list[int]] = []
    while True:
        text = _page(client, path)
        pages.append(_shown(text))
        link = direction.search(text)
        if not link:
            return pages, path
        path = html.unescape(link.group(1))


# Count the statements of rendering, not of a kept page, nor the related threads' periodic catch-up with the
# index (one statement more in whichever view comes two seconds after the last one, on a slow machine).
@pytest.mark.app_config(COKNOW_PAGE_CACHE_SECONDS=0, COKNOW_INDEX_SYNC_SECONDS=3600)
def test_a_long_thread_shows_one_page_in_a_fixed_number_of_statements(app, client, long_thread, count_queries):
    short, _ = long_thread(30, "A short question about pairing")
    thread, ids = long_thread(320)

    def statements(path: str) -> tuple[int, str]:
        db.session.expire_all()
        with app.app_context(), count_queries() as queries:
            response = client.get(path)
        assert response.status_code == 200, path
        return queries.count, response.get_data(as_text=True)

    _page(client, f"/forum/t/{thread.id}")  # the index and related threads warmed up
    first, text = statements(f"/forum/t/{thread.id}")
    assert _shown(text) == ids[:50]
    assert NEWER.search(text) and not OLDER.search(text)
    assert "320 replies" in text
    few, _ = statements(f"/forum/t/{short.id}")
    deeper = []
    for _ in range(3):
        count, text = statements(html.unescape(NEWER.search(text).group(1)))
        deeper.append(count)
    middle, text = statements(f"/forum/t/{thread.id}?reply={ids[170]}")
    assert ids[170] in _shown(text) and len(_shown(text)) == 50
    last, text = statements(f"/forum/t/{thread.id}?page=last")
    assert _shown(text) == ids[-50:]
    # A page costs the same whatever the thread's length and wherever the page is; opening the page of one
    # reply costs three statements more (where the reply is, how many come before it, where its page starts).
    assert deeper == [first] * 3 and few == first == last, (few, first, deeper, last)
    assert middle == first + 3 and first <= 20, (first, middle)


@pytest.mark.parametrize("per_page", [25, 50])
def test_newer_and_older_links_walk_every_reply_once_in_order(app, client, long_thread, per_page):
    app.config["FORUM_REPLIES_PER_PAGE"] = per_page
    thread, ids = long_thread(137)
    forward, last = _walk(client, f"/forum/t/{thread.id}")
    assert [r for page in forward for r in page] == ids
    assert all(len(page) == per_page for page in forward[:-1])
    backward, _first = _walk(client, last, direction=OLDER)
    assert list(reversed(backward)) == forward  # the same pages: they start at the same replies
    # "Last" opens a full last page; its Older links reach the first reply, each reply once.
    from_end, _ = _walk(client, f"/forum/t/{thread.id}?page=last", direction=OLDER)
    assert from_end[0] == ids[-per_page:]
    assert [r for page in reversed(from_end) for r in page] == ids


def test_a_link_to_an_early_reply_lands_on_its_page_with_the_anchor(app, client, create_user, category, busy,
                                                                     long_thread):
    app.config["FORUM_REPLIES_PER_PAGE"] = 20
    cleo = create_user(display_name="Cleo Park")
    thread, _ = long_thread(3)
    ben = create_user(display_name="Ben Ode")
    early = services.post_reply(ben, thread, "@CleoPark have you seen this one?")
    db.session.commit()
    later = [Reply(thread=thread, author=ben, body=f"Later answer {i}", created_at=utcnow() + timedelta(minutes=i + 1))
             for i in range(100)]
    db.session.add_all(later)
    db.session.commit()

    link = db.session.scalar(select(Notification.link).where(Notification.user_id == cleo.id))
    assert link == f"/forum/t/{thread.id}?reply={early.id}#reply-{early.id}"
    text = _page(client, link)
    assert f'id="reply-{early.id}"' in text and early.id in _shown(text)

    # A reply deep in the thread: the page holding it is the one following Newer reaches.
    forward, _ = _walk(client, f"/forum/t/{thread.id}")
    target = later[63].id
    text = _page(client, f"/forum/t/{thread.id}?reply={target}")
    holding = next(page for page in forward if target in page)
    assert _shown(text) == holding and OLDER.search(text) and NEWER.search(text)


def test_reply_links_from_actions_open_the_page_holding_the_reply(app, client, auth, create_user, long_thread):
    app.config["FORUM_REPLIES_PER_PAGE"] = 20
    thread, ids = long_thread(90)
    create_user(email="mod@example.com", role="staff")
    auth.login("mod@example.com")
    target = ids[47]
    token = csrf_token(client, f"/forum/t/{thread.id}")
    with app.app_context():
        response = client.post(f"/forum/r/{target}/hide", data={"hidden": "1", "csrf_token": token})
    assert response.headers["Location"].endswith(f"/forum/t/{thread.id}?reply={target}#reply-{target}")
    text = _page(client, response.headers["Location"])
    assert target in _shown(text) and "hidden from customers" in text
    # Quote keeps the reader on the page of the quoted reply, with the quote in the form at its foot.
    quoted = ids[48]
    quote = re.search(rf'href="([^"]*quote={quoted}[^"]*)"', text)
    assert quote
    text = _page(client, html.unescape(quote.group(1)))
    assert _shown(text) == ids[40:60] and "&gt; Answer number 48 about pairing" in text


def test_the_accepted_answer_is_shown_above_every_page(app, client, auth, create_user, long_thread):
    app.config["FORUM_REPLIES_PER_PAGE"] = 20
    thread, ids = long_thread(70)
    answer = db.session.get(Reply, ids[4])
    answer.body = "Hold the button for **ten** seconds."
    services.accept_answer(thread.author, thread, answer)
    db.session.commit()
    forward_pages = 0
    path = f"/forum/t/{thread.id}"
    while path:
        text = _page(client, path)
        forward_pages += 1
        panel = re.search(r'<section class="panel accepted-answer".*?</section>', text, re.S)
        assert panel and "<strong>ten</strong>" in panel.group(0), forward_pages
        assert f'href="/forum/t/{thread.id}?reply={answer.id}#reply-{answer.id}"' in panel.group(0)
        link = NEWER.search(text)
        path = html.unescape(link.group(1)) if link else ""
    assert forward_pages == 4
    # The reply form stays at the foot of the page, after the replies.
    create_user(email="reader@example.com")
    auth.login("reader@example.com")
    text = _page(client, f"/forum/t/{thread.id}")
    assert text.index('id="replies"') < text.index('id="reply-form"')


def test_only_the_last_page_takes_new_replies_live(app, client, auth, create_user, long_thread):
    app.config["FORUM_REPLIES_PER_PAGE"] = 20
    thread, _ = long_thread(45)
    first = _page(client, f"/forum/t/{thread.id}")
    assert "data-last-page" not in first and "live-note" not in first
    middle = _page(client, html.unescape(NEWER.search(first).group(1)))
    assert "data-last-page" not in middle
    _, last_path = _walk(client, f"/forum/t/{thread.id}")
    for path in (last_path, f"/forum/t/{thread.id}?page=last"):
        text = _page(client, path)
        assert 'data-last-page="1"' in text and "live-note" in text and not NEWER.search(text)
    short, _ = long_thread(3, "A short question about pairing")
    assert 'data-last-page="1"' in _page(client, f"/forum/t/{short.id}")
    # A reply posted through the page lands on the page holding it: the last one.
    create_user(email="ben@example.com")
    auth.login("ben@example.com")
    token = csrf_token(client, f"/forum/t/{thread.id}?page=last")
    with app.app_context():
        response = client.post(f"/forum/t/{thread.id}/reply", data={"body": "A fresh answer", "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    newest = db.session.scalar(select(Reply.id).where(Reply.thread_id == thread.id).order_by(Reply.id.desc()).limit(1))
    assert response.headers["Location"].endswith(f"?reply={newest}#reply-{newest}")
    text = _page(client, response.headers["Location"])
    assert newest in _shown(text) and 'data-last-page="1"' in text


def test_bad_page_arguments_are_a_clear_404_or_the_first_page(app, client, long_thread):
    app.config["FORUM_REPLIES_PER_PAGE"] = 20
    thread, ids = long_thread(45)
    _other, other_ids = long_thread(3, "Another question about pairing")
    first = _shown(_page(client, f"/forum/t/{thread.id}"))
    for bad in ("after=not-a-cursor", "before=eyJ4Ijp9", "after=" + "A" * 300, "reply=abc&before=x"):
        response = _get(client, f"/forum/t/{thread.id}?{bad}")
        assert response.status_code == 404, bad
        assert "This page link is not valid any more" in response.get_data(as_text=True)
    # A cursor of another list (the forum's "latest" order) is not one of this thread's.
    listing = services.list_threads(None, per_page=1, count=False)
    assert listing.next_cursor
    assert _get(client, f"/forum/t/{thread.id}?after={listing.next_cursor}").status_code == 404
    # A reply that is not in this thread, or not a number, or an old ?page= number: the first page.
    for fallback in (f"reply={other_ids[0]}", "reply=abc", "reply=99999999999", f"reply={2**31}", "page=3", "page=-1"):
        assert _shown(_page(client, f"/forum/t/{thread.id}?{fallback}")) == first, fallback


def test_signed_out_pages_of_replies_are_kept_apart(app, client, long_thread):
    app.config["FORUM_REPLIES_PER_PAGE"] = 20
    thread, ids = long_thread(45)
    first_path = f"/forum/t/{thread.id}"
    second_path = html.unescape(NEWER.search(_page(client, first_path)).group(1))
    for path, expected in ((first_path, ids[:20]), (second_path, ids[20:40]),
                           (f"{first_path}?page=last", ids[-20:]), (f"{first_path}?reply={ids[30]}", ids[20:40])):
        _get(client, path)
        response = _get(client, path)
        assert response.headers.get("X-Page-Cache") == "hit", path  # the query string is part of the key
        assert _shown(response.get_data(as_text=True)) == expected, path
