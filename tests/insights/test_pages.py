"""Insights pages and API end to end: access, running themes, evidence on ideas, exports, trends, the scorecard."""
from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from community.extensions import db
from community.insights import themes, trends
from community.models import DigestSubscription, Evidence, OutgoingEmail, ThemeRun, Thread

from tests.conftest import csrf_token

PAGES = ["/insights/", "/insights/trends", "/insights/duplicates", "/insights/scorecard", "/insights/scorecard/threads"]


def test_pages_and_api_are_for_staff_only(insight_site, auth, client):
    for path in PAGES:
        assert client.get(path).status_code == 302  # to the login page
    assert client.get("/api/v1/insights/themes").status_code == 401
    auth.login("carla@example.com")
    for path in PAGES:
        assert client.get(path).status_code == 403
    assert client.get("/api/v1/insights/themes").status_code == 403
    assert client.post("/api/v1/insights/runs", json={}).status_code == 403


def test_staff_run_themes_from_the_page_and_open_one(insight_site, auth, client):
    auth.login("staff@example.com")
    page = client.get("/insights/")
    assert page.status_code == 200 and b"Find themes" in page.data
    response = client.post("/insights/themes/run", data={"csrf_token": csrf_token(client, "/insights/"),
                                                           "sources": ["thread", "idea"]})
    assert response.status_code == 302
    run = themes.latest_run()
    assert run.sources == ["thread", "idea"] and run.n_themes >= 3
    listing = client.get("/insights/").get_data(as_text=True)
    theme_ids = re.findall(r'href="/insights/themes/(\d+)"', listing)
    assert len(theme_ids) == run.n_themes
    detail = client.get(f"/insights/themes/{theme_ids[0]}").get_data(as_text=True)
    assert "Export CSV" in detail and "Evidence for idea" in detail
    # Without a CSRF token nothing runs.
    assert client.post("/insights/themes/run", data={"sources": ["thread"]}).status_code in (302, 400)
    assert db.session.scalar(select(db.func.count()).select_from(ThemeRun)) == 1


def test_attach_a_thread_as_evidence_and_see_it_on_the_idea_page(themes_run, insight_site, auth, client):
    idea = insight_site["idea"]
    dark = themes.theme_of("idea", idea.id)
    thread_item = next(i for i in themes.theme_items(dark) if i.source_type == "thread")
    thread = db.session.get(Thread, int(thread_item.source_id))
    auth.login("staff@example.com")
    # The idea page suggests the theme's threads before anything is attached.
    assert thread.title in client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    token = csrf_token(client, f"/insights/themes/{dark.id}")
    form = {"csrf_token": token, "idea_id": idea.id, "source_type": "thread", "source_id": thread.id,
            "next": f"/insights/themes/{dark.id}"}
    assert client.post("/insights/evidence", data=form).headers["Location"].endswith(f"/insights/themes/{dark.id}")
    stored = db.session.scalar(select(Evidence))
    assert stored.idea_id == idea.id and stored.title == thread.title and stored.customer_id == thread.author_id
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert 'id="evidence"' in page and f'href="/forum/t/{thread.id}"' in page
    assert thread.author.display_name in page  # the customer behind it
    # Twice is refused, and nothing is half-written.
    client.post("/insights/evidence", data=form)
    assert db.session.scalar(select(db.func.count()).select_from(Evidence)) == 1
    # Customers do not see the evidence panel.
    auth.logout()
    auth.login("carla@example.com")
    assert 'id="evidence"' not in client.get(f"/ideas/{idea.id}").get_data(as_text=True)


def test_export_a_theme_as_csv_and_json(themes_run, insight_site, auth, client):
    theme = themes_run.themes[0]
    auth.login("staff@example.com")
    response = client.get(f"/insights/themes/{theme.id}/export.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == theme.size and rows[0]["theme_id"] == str(theme.id) and rows[0]["url"].startswith("/")
    data = client.get(f"/insights/themes/{theme.id}/export.json").get_json()
    assert data["theme"]["size"] == theme.size and len(data["items"]) == theme.size
    whole = client.get(f"/insights/runs/{themes_run.id}/export.csv").get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(whole)))) == themes_run.n_items
    assert client.get(f"/insights/themes/{theme.id}/export.xml").status_code == 404


def test_csv_cells_that_look_like_formulas_are_neutralised(themes_run, auth, client):
    theme = themes_run.themes[0]
    item = themes.theme_items(theme)[0]
    item.title = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    auth.login("staff@example.com")
    text = client.get(f"/insights/themes/{theme.id}/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_api_runs_themes_and_attaches_evidence(insight_site, auth, client):
    auth.login("staff@example.com")
    bad = client.post("/api/v1/insights/runs", json={"sources": ["tweets"]})
    assert bad.status_code == 422 and "sources" in bad.get_json()["error"]["fields"]
    started = client.post("/api/v1/insights/runs", json={"period_days": 365})
    assert started.status_code == 202
    body = started.get_json()
    assert client.get(f"/api/v1/jobs/{body['job_id']}").get_json()["state"] == "done"
    listed = client.get("/api/v1/insights/themes").get_json()
    assert len(listed) == client.get(f"/api/v1/insights/runs/{body['id']}").get_json()["n_themes"]
    one = client.get(f"/api/v1/insights/themes/{listed[0]['id']}").get_json()
    assert len(one["items"]) == listed[0]["size"]
    idea = insight_site["idea"]
    thread = db.session.scalars(select(Thread)).first()
    made = client.post(f"/api/v1/insights/ideas/{idea.id}/evidence", json={"source_type": "thread", "source_id": str(thread.id)})
    assert made.status_code == 201 and made.get_json()["customer_id"] == thread.author_id
    again = client.post(f"/api/v1/insights/ideas/{idea.id}/evidence", json={"source_type": "thread", "source_id": str(thread.id)})
    assert again.status_code == 409
    unknown = client.post(f"/api/v1/insights/ideas/{idea.id}/evidence", json={"source_type": "tweet", "source_id": "1"})
    assert unknown.status_code == 422 and "source_type" in unknown.get_json()["error"]["fields"]
    missing = client.post(f"/api/v1/insights/ideas/{idea.id}/evidence", json={"source_type": "thread", "source_id": "99999"})
    assert missing.status_code == 404
    assert len(client.get(f"/api/v1/insights/ideas/{idea.id}/evidence").get_json()) == 1
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/insights/runs" in spec["paths"] and "/api/v1/insights/ideas/{idea_id}/evidence" in spec["paths"]


def test_trends_chart_and_the_digest_through_the_outbox(themes_run, insight_site, auth, client):
    auth.login("staff@example.com")
    page = client.get("/insights/trends").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page
    client.post("/insights/trends/subscription", data={"csrf_token": csrf_token(client, "/insights/trends"), "on": "1"})
    assert db.session.get(DigestSubscription, insight_site["staff"].id) is not None
    series = trends.weekly_trends(themes_run)
    assert sum(sum(t.counts) for t in series.themes) == themes_run.n_items
    assert trends.send_digest() == 1
    db.session.commit()
    mail = db.session.scalar(select(OutgoingEmail).where(OutgoingEmail.kind == "insights.digest"))
    assert mail.to_address == "staff@example.com" and "/insights/trends" in mail.body_text


def test_scorecard_numbers_link_to_their_items(themes_run, insight_site, auth, client):
    auth.login("staff@example.com")
    page = client.get("/insights/scorecard").get_data(as_text=True)
    for flow in ("Acquisition", "Sharing", "Application", "Co-creation"):
        assert flow in page
    threads = re.search(r'href="/insights/scorecard/threads"[^>]*>(\d+)<', page)
    # Threads were posted 3, 10 and 17 days ago: all inside the 28-day window.
    assert threads and int(threads.group(1)) == 18
    listing = client.get("/insights/scorecard/threads").get_data(as_text=True)
    assert listing.count('href="/forum/t/') == 18
    ideas = client.get("/insights/scorecard/ideas").get_data(as_text=True)
    assert insight_site["idea"].title in ideas
    assert client.get("/insights/scorecard/nothing").status_code == 404


def test_duplicates_page_links_a_pair_and_the_idea_gets_evidence(themes_run, insight_site, auth, client):
    from community.models import ItemLink

    auth.login("staff@example.com")
    page = client.get("/insights/duplicates").get_data(as_text=True)
    assert "Not the same" in page
    link = db.session.scalars(select(ItemLink).where(ItemLink.status == "suggested")).first()
    token = csrf_token(client, "/insights/duplicates")
    client.post(f"/insights/duplicates/{link.id}/link", data={"csrf_token": token})
    db.session.refresh(link)
    assert link.status == "linked"
    if "idea" in (link.a_type, link.b_type) and link.a_type != link.b_type:
        assert db.session.scalar(select(db.func.count()).select_from(Evidence)) == 1


def test_a_reply_or_chat_message_can_be_evidence_by_its_number(insight_site, auth, client):
    from community.models import ChatMessage, Conversation, Reply

    thread = db.session.scalars(select(Thread)).first()
    reply = Reply(thread_id=thread.id, author_id=insight_site["customer"].id, body="Same here, please add it.")
    conversation = Conversation(user_id=insight_site["customer"].id)
    db.session.add_all([reply, conversation])
    db.session.flush()
    message = ChatMessage(conversation_id=conversation.id, role="customer", text="I want a dark mode",
                          author_id=insight_site["customer"].id)
    db.session.add(message)
    db.session.commit()
    idea = insight_site["idea"]
    auth.login("staff@example.com")
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert 'value="reply"' in page and 'value="chat_message"' in page
    token = csrf_token(client, f"/ideas/{idea.id}")
    for kind, ident in (("reply", reply.id), ("chat_message", message.id)):
        client.post("/insights/evidence", data={"csrf_token": token, "idea_id": idea.id, "source_type": kind,
                                                 "source_id": ident, "next": f"/ideas/{idea.id}"})
    kinds = {e.source_type for e in db.session.scalars(select(Evidence))}
    assert kinds == {"reply", "chat_message"}
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert f'href="/forum/t/{thread.id}?reply={reply.id}#reply-{reply.id}"' in page and "I want a dark mode" in page
    # A number that is no item is refused and nothing is stored.
    missing = client.post("/insights/evidence", data={"csrf_token": token, "idea_id": idea.id, "source_type": "reply",
                                                       "source_id": "99999", "next": f"/ideas/{idea.id}"})
    assert missing.status_code == 404
    assert db.session.scalar(select(db.func.count()).select_from(Evidence)) == 2
