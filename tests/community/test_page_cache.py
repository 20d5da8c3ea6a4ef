"""The page cache for signed-out visitors: kept pages show every committed write at once, carry each visitor's
own CSRF token, never a flash of someone else, and are never served to a signed-in person."""
from __future__ import annotations

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from community.extensions import db
from community.forum import services as forum
from community.ideas.services import add_comment, cast_vote, submit_idea
from community.kb.services import create_article, ensure_category
from community.models import ArticleStatus
from community.pagecache import CSRF_PLACEHOLDER

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def site(app, create_user, busy):
    """A little of everything the cached pages show."""
    ana = create_user(display_name="Ana Lima")
    category = forum.save_category(None, name="Getting started", description="Setup questions.")
    thread = forum.create_thread(ana, category, "The sensor will not pair", "It blinks red.", "")
    idea = submit_idea(ana, "Export readings as CSV", "For my doctor.", None, None)
    kb_category = ensure_category("setup", "Setup")
    article = create_article("Pairing the sensor", "Hold the button for ten seconds.", category=kb_category,
                             status=ArticleStatus.published)
    db.session.commit()
    return {"ana": ana, "category": category, "thread": thread, "idea": idea, "article": article}


def _get(client, path: str):
    # A request of its own app context, as in the server: the tests' app context would share `g` (where
    # flask-wtf keeps the request's CSRF token and flask-login its user) between clients.
    with client.application.app_context():
        response = client.get(path)
    assert response.status_code == 200, path
    return response, response.get_data(as_text=True)


def _kept(client, path: str) -> str:
    """The page, after making sure the second view came from the cache."""
    _get(client, path)
    response, html = _get(client, path)
    assert response.headers.get("X-Page-Cache") == "hit", path
    return html


def test_a_committed_write_shows_at_once_on_kept_pages(app, client, create_user, site):
    ben = create_user(display_name="Ben Okafor")
    thread, idea = site["thread"], site["idea"]
    pages = {"/": None, "/forum/": None, f"/forum/t/{thread.id}": None, "/ideas/": None,
             f"/ideas/{idea.id}": None, "/help/": None, f"/help/articles/{site['article'].slug}": None,
             f"/forum/c/{site['category'].slug}": None, "/help/categories/setup": None}
    for path in pages:
        _kept(client, path)

    forum.create_thread(ben, site["category"], "Battery drains overnight", "Since the update.", "")
    db.session.commit()
    response, html = _get(client, "/forum/")
    assert response.headers["X-Page-Cache"] == "miss" and "Battery drains overnight" in html
    assert "Battery drains overnight" in _get(client, f"/forum/c/{site['category'].slug}")[1]

    _kept(client, f"/forum/t/{thread.id}")
    forum.post_reply(ben, thread, "Try holding it for twenty seconds.")
    db.session.commit()
    assert "Try holding it for twenty seconds." in _get(client, f"/forum/t/{thread.id}")[1]

    _kept(client, "/ideas/")
    submit_idea(ben, "Dark mode for the app", "Easier on the eyes.", None, None)
    db.session.commit()
    assert "Dark mode for the app" in _get(client, "/ideas/")[1]

    before = _kept(client, f"/ideas/{idea.id}")
    assert "Same here, please." not in before
    add_comment(idea, ben, "Same here, please.", notify_users=False)
    db.session.commit()
    assert "Same here, please." in _get(client, f"/ideas/{idea.id}")[1]

    _kept(client, "/ideas/")
    assert cast_vote(ben, idea)
    db.session.commit()
    response, html = _get(client, "/ideas/")
    assert response.headers["X-Page-Cache"] == "miss"

    _kept(client, "/help/")
    create_article("Charging the sensor", "Use the cable in the box.", category=ensure_category("setup"),
                   status=ArticleStatus.published)
    db.session.commit()
    assert "Charging the sensor" in _get(client, "/help/")[1]
    assert "Charging the sensor" in _get(client, "/help/categories/setup")[1]


def test_writes_through_the_site_show_at_once(app, client, create_user, auth, site):
    """The same through the real forms: a signed-in author's reply, seen by a signed-out visitor."""
    ben = create_user(email="ben@example.com")
    path = f"/forum/t/{site['thread'].id}"
    visitor = app.test_client()
    assert "A reply through the form" not in _kept(visitor, path)
    with app.app_context():
        auth.login(ben.email)
    token = TOKEN.search(_get(client, path)[1]).group(1)
    with app.app_context():
        answer = client.post(f"/forum/t/{site['thread'].id}/reply", data={"body": "A reply through the form",
                                                                           "csrf_token": token})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    assert "A reply through the form" in _get(visitor, path)[1]


def test_a_view_count_does_not_throw_kept_pages_away(app, client, site):
    path = f"/forum/t/{site['thread'].id}"
    _kept(client, "/forum/")
    token = TOKEN.search(_get(client, path)[1]).group(1)
    with app.app_context():
        assert client.post(f"{path}/seen", data={"csrf_token": token}).status_code == 204
    assert _get(client, "/forum/")[0].headers["X-Page-Cache"] == "hit"


def test_two_visitors_never_see_each_others_token_or_flash(app, site):
    first, second = app.test_client(), app.test_client()
    path = f"/help/articles/{site['article'].slug}"
    serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")

    def own_token(client, html: str) -> str:
        token = TOKEN.search(html).group(1)
        with client.session_transaction() as sess:
            assert serializer.loads(token) == sess["csrf_token"]
        return token

    one = own_token(first, _get(first, path)[1])
    response, html = _get(second, path)
    assert response.headers["X-Page-Cache"] == "hit"
    two = own_token(second, html)
    assert one != two and CSRF_PLACEHOLDER.decode() not in html
    for form_token in re.findall(r'name="csrf_token" value="([^"]+)"', html):
        assert form_token == two

    # The first visitor answers "was this helpful?": a flash and a remembered answer, their own.
    with app.app_context():
        answer = first.post(f"{path}/feedback", data={"helpful": "yes", "csrf_token": one})
    assert answer.status_code == 302
    response, html = _get(first, path)
    assert "X-Page-Cache" not in response.headers and "Thanks for your feedback." in html
    response, html = _get(second, path)
    assert "Thanks for your feedback." not in html
    assert "X-Page-Cache" not in _get(first, path)[0].headers  # "already answered" is theirs alone


def test_signed_in_people_never_get_the_kept_page(app, client, auth, create_user, site):
    visitor = app.test_client()
    _kept(visitor, "/forum/")
    user = create_user(email="cleo@example.com", display_name="Cleo Park")
    with app.app_context():
        auth.login(user.email)
    for path in ("/", "/forum/", "/ideas/", "/help/", f"/forum/t/{site['thread'].id}"):
        response, html = _get(client, path)
        assert "X-Page-Cache" not in response.headers, path
        assert 'data-signed-in="1"' in html and "Cleo Park" in html
    assert 'data-signed-in="0"' in _kept(visitor, "/forum/")


def test_language_and_query_are_part_of_the_key(app, site):
    visitor = app.test_client()
    english = _kept(visitor, "/forum/")
    _get(visitor, "/forum/?lang=zh")
    chinese = _kept(visitor, "/forum/?lang=zh")
    assert english != chinese and 'lang="zh-Hans"' in chinese and 'lang="en"' in english
    reader = app.test_client()
    response, html = _get(reader, "/forum/")
    assert 'lang="en"' in html and response.headers["X-Page-Cache"] == "hit"


@pytest.mark.app_config(COKNOW_PAGE_CACHE_SECONDS=0)
def test_the_cache_can_be_switched_off(app, client, site):
    _get(client, "/forum/")
    assert "X-Page-Cache" not in _get(client, "/forum/")[0].headers


def test_kept_page_shell_parts_carry_each_signed_in_persons_own_token(app, create_user, site):
    """The chat launcher's forms are rendered once per process (community.rendered.cached_fragment) with a slot
    for the token: every signed-in person's page holds only their own."""
    from tests.conftest import Auth

    tokens = []
    for n in range(2):
        person = create_user(email=f"reader{n}@example.com")
        browser = app.test_client()
        with app.app_context():
            Auth(browser).login(person.email)
        html = _get(browser, "/forum/")[1]
        meta = TOKEN.search(html).group(1)
        in_forms = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
        assert in_forms == {meta} and "\x00" not in html
        tokens.append(meta)
    assert tokens[0] != tokens[1]
