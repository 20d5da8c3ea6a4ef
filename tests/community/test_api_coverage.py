"""The API beyond chat, ideas and forum: the help center, knowledge gaps, notifications, users; incremental
sync by cursor; and the OpenAPI document lists every route."""
from __future__ import annotations

from datetime import timedelta

import pytest

from community.api import tokens
from community.extensions import db
from community.models import Article, ArticleStatus, GapStatus, Idea, KnowledgeGap, Role, Thread
from community.models.base import utcnow


def bearer(user, *scopes) -> dict[str, str]:
    issued = tokens.issue_token(user, "test", list(scopes), 30)
    db.session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def test_every_api_route_is_in_the_openapi_document(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs."):
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (path, method) not in documented:
                missing.append(f"{method} {path}")
    assert missing == [], f"routes missing from openapi.json: {missing}"
    assert "bearerToken" in spec["components"]["securitySchemes"]


def test_every_api_blueprint_says_which_token_scope_it_needs(app):
    names = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/api/v1/") and not rule.endpoint.startswith("api-docs.")}
    # The chat is bound to a browser session; every other part says which scope reaches it.
    assert names - set(tokens.BLUEPRINT_AREAS) == {"api_chat"}


def test_help_center_read_and_staff_write(app, client, create_user):
    staff = create_user("staff@example.com", role=Role.staff)
    customer = create_user("c@example.com")
    writer = bearer(staff, "kb:write")
    reader = bearer(customer, "kb:read")
    category = client.post("/api/v1/kb/categories", json={"name": "Billing"}, headers=writer)
    assert category.status_code == 201 and category.get_json()["slug"] == "billing"
    assert client.post("/api/v1/kb/categories", json={"name": "Billing"}, headers=writer).status_code == 409
    draft = client.post("/api/v1/kb/articles", headers=writer, json={
        "title": "Refunds", "body": "Within 30 days.", "category": "billing",
        "questions": ["Can I get my money back?"]})
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    article_id = draft.get_json()["id"]
    assert client.get(f"/api/v1/kb/articles/{article_id}", headers=reader).status_code == 404  # drafts are staff's
    assert client.get("/api/v1/kb/articles", headers=reader).get_json()["items"] == []
    assert client.patch(f"/api/v1/kb/articles/{article_id}", json={"status": "published"},
                        headers=bearer(customer, "kb:read")).status_code == 403
    published = client.patch(f"/api/v1/kb/articles/{article_id}", headers=writer,
                             json={"status": "published", "title": "Refunds policy"})
    assert published.status_code == 200 and published.get_json()["status"] == "published"
    listed = client.get("/api/v1/kb/articles?category=billing", headers=reader).get_json()
    assert [a["title"] for a in listed["items"]] == ["Refunds policy"] and listed["next_cursor"] is None
    assert listed["items"][0]["category_slug"] == "billing"
    bad = client.post("/api/v1/kb/articles", json={"title": "x", "body": "y", "category": "nope"}, headers=writer)
    assert bad.status_code == 404 and "category" in bad.get_json()["error"]["fields"]
    # A customer holding kb:read cannot write, whatever the scope list says.
    assert client.post("/api/v1/kb/articles", json={"title": "x", "body": "y"}, headers=reader).status_code == 403


def test_help_center_import_creates_updates_and_reports_bad_records(app, client, create_user):
    staff = create_user("staff@example.com", role=Role.staff)
    writer = bearer(staff, "kb:write")
    payload = {"prefix": "zendesk", "articles": [
        {"id": "1", "title": "Reset your password", "body": "Use the link on the login page.",
         "questions": ["forgot password"], "category": "account"},
        {"id": "2", "title": "", "body": "No title here."},
    ]}
    first = client.post("/api/v1/kb/import", json=payload, headers=writer)
    assert first.status_code == 200
    body = first.get_json()
    assert (body["created"], body["updated"], body["unchanged"]) == (1, 0, 0)
    assert [r["index"] for r in body["rejected"]] == [1]
    article = db.session.query(Article).one()
    assert article.external_id == "zendesk:1" and article.status is ArticleStatus.published
    assert client.post("/api/v1/kb/import", json=payload, headers=writer).get_json()["unchanged"] == 1
    payload["articles"][0]["body"] = "Use the link on the login page, then check your e-mail."
    assert client.post("/api/v1/kb/import", json=payload, headers=writer).get_json()["updated"] == 1
    assert client.post("/api/v1/kb/import", json={"articles": []}, headers=writer).status_code == 422


def test_gaps_list_link_and_dismiss(app, client, create_user):
    from bot import capture

    staff = create_user("staff@example.com", role=Role.staff)
    customer = create_user("c@example.com")
    gap = capture.record_gap("can I pay with bitcoin", capture.GapSource.abstain, user=customer)
    other = capture.record_gap("what is the weather in Paris tomorrow", capture.GapSource.abstain)
    from community.kb.services import create_article

    article = create_article("Payment methods", "Cards and bank transfer.", status=ArticleStatus.published)
    db.session.commit()
    headers = bearer(staff, "gaps:write")
    listed = client.get("/api/v1/gaps", headers=headers).get_json()
    assert {g["gap"]["id"] for g in listed} == {gap.id, other.id}
    assert client.get("/api/v1/gaps", headers=bearer(staff, "ideas:read")).status_code == 403
    linked = client.post(f"/api/v1/gaps/{gap.id}/link", json={"article_id": article.id}, headers=headers)
    assert linked.status_code == 200 and linked.get_json()["status"] == "answered"
    again = client.post(f"/api/v1/gaps/{gap.id}/link", json={"article_id": article.id}, headers=headers)
    assert again.status_code == 409
    assert client.post(f"/api/v1/gaps/{other.id}/dismiss", json={"reason": ""}, headers=headers).status_code == 422
    dismissed = client.post(f"/api/v1/gaps/{other.id}/dismiss", json={"reason": "out of scope"}, headers=headers)
    assert dismissed.status_code == 200 and dismissed.get_json()["dismissed_reason"] == "out of scope"
    db.session.expire_all()
    assert db.session.get(KnowledgeGap, other.id).status is GapStatus.dismissed
    assert "can I pay with bitcoin" in db.session.get(Article, article.id).questions


def test_notifications_read_and_mark_read(app, client, create_user):
    from community.notifications.services import notify

    user = create_user("me@example.com")
    other = create_user("other@example.com")
    for n in range(3):
        notify([user], "idea.status", f"Update {n}")
    notify([other], "idea.status", "Not yours")
    db.session.commit()
    headers = bearer(user, "notifications:write")
    page = client.get("/api/v1/notifications?limit=2", headers=headers).get_json()
    assert [n["title"] for n in page["items"]] == ["Update 2", "Update 1"]
    rest = client.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=headers).get_json()
    assert [n["title"] for n in rest["items"]] == ["Update 0"] and rest["next_cursor"] is None
    marked = client.post("/api/v1/notifications/read", json={"id": page["items"][0]["id"]}, headers=headers)
    assert marked.get_json() == {"marked": 1, "unread": 2}
    assert client.post("/api/v1/notifications/read", json={}, headers=headers).get_json() == {"marked": 2, "unread": 0}


def test_users_profiles_and_the_staff_list(app, client, create_user):
    staff = create_user("staff@example.com", role=Role.staff)
    customer = create_user("c@example.com", display_name="Cleo Customer")
    other = create_user("o@example.com")
    public = client.get(f"/api/v1/users/{customer.id}", headers=bearer(other, "users:read")).get_json()
    assert public["display_name"] == "Cleo Customer" and public["email"] is None and public["role"] is None
    seen_by_staff = client.get(f"/api/v1/users/{customer.id}", headers=bearer(staff, "users:read")).get_json()
    assert seen_by_staff["email"] == "c@example.com" and seen_by_staff["role"] == "customer"
    assert client.get("/api/v1/users", headers=bearer(other, "users:read")).status_code == 403
    listed = client.get("/api/v1/users?role=customer", headers=bearer(staff, "users:read")).get_json()
    assert {u["id"] for u in listed["items"]} == {customer.id, other.id}
    changed = client.patch("/api/v1/users/me", json={"display_name": "Cleo C.", "locale": "zh"},
                           headers=bearer(customer, "users:write"))
    assert changed.status_code == 200 and changed.get_json()["display_name"] == "Cleo C."
    assert client.patch("/api/v1/users/me", json={"display_name": " "},
                        headers=bearer(customer, "users:write")).status_code == 422


def test_ideas_and_threads_sync_by_update_time_and_cursor(app, client, create_user):
    from community.forum import services as forum
    from community.ideas import services as ideas

    author = create_user("a@example.com")
    staff = create_user("staff@example.com", role=Role.staff)
    made = [ideas.submit_idea(author, f"Idea number {n}", "") for n in range(5)]
    category = forum.save_category(None, name="General")
    secret = forum.save_category(None, name="Staff room", staff_only=True)
    threads = [forum.create_thread(author, category, f"Thread number {n}", "Body text") for n in range(3)]
    forum.create_thread(staff, secret, "Internal only", "Body text")
    db.session.commit()
    old = utcnow() - timedelta(days=2)
    db.session.query(Idea).update({"updated_at": old})
    db.session.query(Thread).update({"updated_at": old})
    db.session.commit()
    since = (utcnow() - timedelta(days=1)).isoformat()
    headers = bearer(author, "ideas:write", "forum:read")
    assert client.get("/api/v1/ideas/changes", query_string={"updated_since": since},
                      headers=headers).get_json() == {"items": [], "next_cursor": None}
    ideas.change_status(made[3], "planned", staff)
    ideas.cast_vote(staff, made[1])
    forum.post_reply(staff, threads[2], "A reply")
    db.session.commit()
    changed = client.get("/api/v1/ideas/changes", query_string={"updated_since": since, "limit": 1}, headers=headers)
    first = changed.get_json()
    assert [i["id"] for i in first["items"]] == [made[3].id] and first["next_cursor"]
    second = client.get("/api/v1/ideas/changes", headers=headers, query_string={
        "updated_since": since, "limit": 1, "cursor": first["next_cursor"]}).get_json()
    assert [i["id"] for i in second["items"]] == [made[1].id] and second["next_cursor"] is None
    everything = client.get("/api/v1/ideas/changes", query_string={"limit": 500}, headers=headers).get_json()
    assert len(everything["items"]) == 5
    threads_changed = client.get("/api/v1/forum/threads/changes", query_string={"updated_since": since},
                                 headers=headers).get_json()
    assert [t["id"] for t in threads_changed["items"]] == [threads[2].id]
    all_threads = client.get("/api/v1/forum/threads/changes", headers=headers).get_json()["items"]
    assert "Internal only" not in {t["title"] for t in all_threads} and len(all_threads) == 3
    bad = client.get("/api/v1/ideas/changes", query_string={"cursor": "not-a-cursor"}, headers=headers)
    assert bad.status_code == 404 and "cursor" in bad.get_json()["error"]["fields"]
    bad = client.get("/api/v1/ideas/changes", query_string={"updated_since": "yesterday"}, headers=headers)
    assert bad.status_code == 422 and "updated_since" in bad.get_json()["error"]["fields"]


def test_a_page_view_does_not_count_as_a_change(app, client, create_user):
    from community.forum import services as forum

    author = create_user("a@example.com")
    thread = forum.create_thread(author, forum.save_category(None, name="General"), "Viewed a lot", "Body text")
    db.session.commit()
    before = db.session.get(Thread, thread.id).updated_at
    forum.count_view(thread)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).updated_at == before


@pytest.mark.parametrize("path", ["/developers/api", "/developers/webhooks"])
def test_the_documentation_pages_render_locally(client, path):
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "https://cdn" not in html and "unpkg" not in html
    if path == "/developers/api":
        assert "/api/v1/ideas/changes" in html and "ideas:read" in html and 'id="schema-Idea"' in html


def test_edit_merge_and_like_through_the_api(app, client, create_user):
    from community.forum import services as forum
    from community.ideas import services as ideas

    author = create_user("a@example.com")
    staff = create_user("staff@example.com", role=Role.staff)
    first = ideas.submit_idea(author, "Dark mode for the editor", "")
    second = ideas.submit_idea(author, "A dark theme please", "")
    ideas.cast_vote(author, second)
    thread = forum.create_thread(author, forum.save_category(None, name="General"), "Export question", "How?")
    reply = forum.post_reply(staff, thread, "File, then Export.")
    db.session.commit()
    mine = bearer(author, "ideas:write", "forum:write")
    edited = client.put(f"/api/v1/ideas/{first.id}", json={"title": "Dark mode for the whole app", "tags": ["ui"]},
                        headers=mine)
    assert edited.status_code == 200 and edited.get_json()["tags"] == ["ui"]
    assert client.post(f"/api/v1/ideas/{second.id}/merge", json={"target_id": first.id},
                       headers=mine).status_code == 403
    merged = client.post(f"/api/v1/ideas/{second.id}/merge", json={"target_id": first.id},
                         headers=bearer(staff, "ideas:write"))
    assert merged.status_code == 200 and merged.get_json()["id"] == first.id and merged.get_json()["vote_count"] == 1
    changed = client.put(f"/api/v1/forum/threads/{thread.id}", headers=mine,
                         json={"title": "Export to PDF question", "body": "How?"})
    assert changed.status_code == 200 and changed.get_json()["title"] == "Export to PDF question"
    assert client.put(f"/api/v1/forum/replies/{reply.id}", json={"body": "Hijacked"}, headers=mine).status_code == 403
    liked = client.post(f"/api/v1/forum/replies/{reply.id}/like", headers=mine)
    assert liked.get_json() == {"reply_id": reply.id, "liked": True, "like_count": 1}
    read_only = bearer(author, "forum:read")
    assert client.post(f"/api/v1/forum/replies/{reply.id}/like", headers=read_only).status_code == 403
