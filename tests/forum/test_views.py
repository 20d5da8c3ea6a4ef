"""Forum pages and the JSON API end to end."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from community.extensions import db, socketio
from community.forum import services
from community.models import Reply, Thread
from tests.conftest import csrf_token


def test_pages_list_and_show_threads(app, client, auth, create_user, make_thread, staff_category):
    ana = create_user(email="ana@example.com")
    thread = make_thread(ana, body="Uses **bold** and <script>window.x=1</script>", tags=["pairing"])
    secret = make_thread(create_user(role="staff"), cat=staff_category, title="Internal staff handbook")
    page = client.get("/forum/").get_data(as_text=True)
    assert "How do I pair the sensor?" in page and "Internal staff handbook" not in page
    body = client.get(f"/forum/t/{thread.id}").get_data(as_text=True)
    assert "<strong>bold</strong>" in body and "<script>window.x" not in body
    assert client.get(f"/forum/t/{secret.id}").status_code == 404  # not 403: do not confirm it exists
    assert client.get(f"/forum/c/{staff_category.slug}").status_code == 404
    assert client.get("/forum/?tag=pairing").get_data(as_text=True).count("thread-row") == 1
    assert client.get("/forum/?sort=top&page=2").status_code == 200
    assert db.session.get(Thread, thread.id).views == 0  # reading a page writes nothing
    token = csrf_token(client, f"/forum/t/{thread.id}")
    assert client.post(f"/forum/t/{thread.id}/seen", data={"csrf_token": token}).status_code == 204
    assert db.session.get(Thread, thread.id).views == 1
    assert client.post(f"/forum/t/{secret.id}/seen", data={"csrf_token": token}).status_code == 404


def test_new_thread_reply_and_rate_limit_message(app, client, auth, create_user, category):
    create_user(email="new@example.com")
    auth.login("new@example.com")
    token = csrf_token(client, "/forum/new")
    response = client.post("/forum/new", data={"category": category.slug, "title": "Short", "body": "x",
                                               "csrf_token": token})
    assert response.status_code == 422 and "at least 8 characters" in response.get_data(as_text=True)
    response = client.post("/forum/new", data={"category": category.slug, "title": "My first real question",
                                               "body": "Hello *all*", "tags": "setup", "csrf_token": token})
    assert response.status_code == 302
    thread_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for n in range(2):
        assert client.post(f"/forum/t/{thread_id}/reply", data={"body": f"more {n}", "csrf_token": token}).status_code == 302
    limited = client.post(f"/forum/t/{thread_id}/reply", data={"body": "one too many", "csrf_token": token})
    assert limited.status_code == 429
    assert "New members can post 3 times an hour. Please try again in" in limited.get_data(as_text=True)
    assert db.session.scalar(select(Reply).where(Reply.body == "one too many")) is None


def test_preview_sanitizes_and_requires_csrf(app, client, auth, create_user):
    create_user(email="ana@example.com")
    auth.login("ana@example.com")
    assert client.post("/forum/preview", data={"body": "**hi**"}).status_code == 400  # no CSRF token
    token = csrf_token(client, "/forum/")
    html = client.post("/forum/preview", data={"body": "**hi** <img src=x onerror=alert(1)> [a](javascript:alert(1))",
                                               "csrf_token": token}).get_json()["html"]
    assert "<strong>hi</strong>" in html and "onerror=" not in html and "href=\"javascript" not in html


def test_live_watch_joins_only_visible_threads(app, client, auth, create_user, make_thread, staff_category):
    ana, ben = create_user(email="ana@example.com"), create_user()
    thread = make_thread(ana)
    secret = make_thread(create_user(role="staff"), cat=staff_category, title="Internal staff handbook")
    auth.login("ana@example.com")
    live = socketio.test_client(app, namespace="/live", flask_test_client=client)
    assert live.emit("watch_thread", {"thread_id": secret.id}, namespace="/live", callback=True) == {"ok": False}
    assert live.emit("watch_thread", {"thread_id": "nope"}, namespace="/live", callback=True) == {"ok": False}
    assert live.emit("watch_thread", {"thread_id": thread.id}, namespace="/live", callback=True) == {"ok": True}
    live.get_received("/live")
    with app.test_request_context(f"/forum/t/{thread.id}/reply", method="POST"):
        services.post_reply(ben, thread, "Live **hello**")
        db.session.commit()
    events = [m for m in live.get_received("/live") if m["name"] == "thread_reply"]
    assert len(events) == 1 and "<strong>hello</strong>" in events[0]["args"][0]["html"]
    live.emit("unwatch_thread", {"thread_id": thread.id}, namespace="/live")
    live.disconnect(namespace="/live")


def test_staff_moderation_pages(app, client, auth, create_user, make_thread):
    ana = create_user(email="ana@example.com")
    create_user(email="staff@example.com", role="staff")
    thread = make_thread(ana)
    auth.login("ana@example.com")
    token = csrf_token(client, "/forum/")
    assert client.get("/forum/flags").status_code == 403
    assert client.post(f"/forum/t/{thread.id}/moderate", data={"action": "lock", "csrf_token": token}).status_code == 403
    auth.logout()
    auth.login("staff@example.com")
    token = csrf_token(client, "/forum/")
    client.post(f"/forum/t/{thread.id}/moderate", data={"action": "lock", "csrf_token": token})
    assert db.session.get(Thread, thread.id).locked
    client.post(f"/forum/flag/thread/{thread.id}", data={"reason": "wrong category", "csrf_token": token})
    assert "wrong category" in client.get("/forum/flags").get_data(as_text=True)


def test_api_threads_replies_accept(app, client, auth, create_user, category, staff_category, relaxed_limits):
    ana = create_user(email="ana@example.com")
    create_user(email="ben@example.com")
    assert client.post("/api/v1/forum/threads", json={"category": category.slug, "title": "x" * 10, "body": "b"}).status_code == 401
    auth.login("ana@example.com")
    slugs = [c["slug"] for c in client.get("/api/v1/forum/categories").get_json()]
    assert slugs == [category.slug]
    bad = client.post("/api/v1/forum/threads", json={"category": category.slug, "title": "tiny", "body": "b"})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["title"]
    assert client.post("/api/v1/forum/threads", json={"category": staff_category.slug, "title": "x" * 10,
                                                      "body": "b"}).status_code == 404
    created = client.post("/api/v1/forum/threads", json={"category": category.slug, "title": "API question here",
                                                         "body": "**b**", "tags": ["api"]})
    assert created.status_code == 201
    thread = created.get_json()
    assert thread["tags"] == ["api"] and "<strong>b</strong>" in thread["html"] and thread["replies"] == []
    auth.logout()
    auth.login("ben@example.com")
    reply = client.post(f"/api/v1/forum/threads/{thread['id']}/replies", json={"body": "answer"})
    assert reply.status_code == 201
    forbidden = client.post(f"/api/v1/forum/threads/{thread['id']}/accept", json={"reply_id": reply.get_json()["id"]})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    auth.logout()
    auth.login("ana@example.com")
    accepted = client.post(f"/api/v1/forum/threads/{thread['id']}/accept", json={"reply_id": reply.get_json()["id"]})
    assert accepted.status_code == 200 and accepted.get_json()["accepted_reply_id"] == reply.get_json()["id"]
    for n in range(3):
        services.create_thread(ana, category, f"Filler thread {n:02d}", "b")
    db.session.commit()
    listing = client.get("/api/v1/forum/threads?page=1&page_size=2&sort=new")
    assert listing.status_code == 200 and len(listing.get_json()) == 2
    assert json.loads(listing.headers["X-Pagination"])["total"] == 4
    detail = client.get(f"/api/v1/forum/threads/{thread['id']}").get_json()
    assert detail["replies"][0]["accepted"] is True
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/forum/threads", "/api/v1/forum/threads/{thread_id}/accept"} <= set(spec["paths"])


def test_a_question_from_the_bot_defaults_to_its_category_by_meaning(app, client, auth, create_user):
    from community.forum.seed import seed_forum
    from community.seed import SEED_DIR, SeedReport

    seed_forum(SEED_DIR, SeedReport(), lambda _m: None)  # the demo categories and their threads
    db.session.commit()
    create_user("ana@example.com")
    create_user("sam@example.com", role="staff")

    def selected(title: str) -> str:
        page = client.get("/forum/new", query_string={"title": title}).get_data(as_text=True)
        return re.search(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', page).group(0)

    auth.login("ana@example.com")
    assert "questions-answers" in selected("How do I move a page to another notebook?")
    assert "bug-reports" in selected("The app crashes every time I open a PDF attachment")
    assert "tips-workflows" in selected("how I organise my weekly review with tags")
    auth.logout()
    auth.login("sam@example.com")
    # Staff see the staff-only category, but a question never lands there by default.
    assert "staff-lounge" not in selected("How should we coordinate answers and escalations internally?")
