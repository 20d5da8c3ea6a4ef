"""Feature requests in chat meet ideas: known requests with status and votes, vote and follow from the chat,
unmatched requests offered the prefilled idea form, and the chat requests on the idea's demand panel.
Real model and FAISS; every database test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import g
from sqlalchemy import func, select

from bot import idea_requests
from community.extensions import db, socketio
from community.ideas import services as idea_services
from community.models import ChatMessage, Idea, KnowledgeGap, Role, Vote

SEED_IDEAS = Path(__file__).resolve().parents[2] / "community" / "seed_data" / "ideas.jsonl"
NS = "/chat"
# A customer's own words for the seeded "Dark mode on Android" idea.
DARK_MODE_REQUEST = "Could you please add a dark theme to the Android app?"
UNMATCHED_REQUEST = "Can you add a built-in karaoke mode with song lyrics?"


def _seed_idea(slug: str) -> dict:
    rows = [json.loads(line) for line in SEED_IDEAS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return next(r for r in rows if r["id"] == slug)


@pytest.fixture
def ideas(app, create_user):
    """The demo's dark-mode idea (in progress, three votes) and its Word-export idea."""
    staff = create_user(role=Role.staff)
    author = create_user()
    made = {}
    for slug in ("android-dark-mode", "export-to-docx"):
        row = _seed_idea(slug)
        made[slug] = idea_services.submit_idea(author, row["title"], row["body"], row.get("category"))
    for _ in range(3):
        idea_services.cast_vote(create_user(), made["android-dark-mode"])
    idea_services.change_status(made["android-dark-mode"], "in_progress", staff, notify_users=False)
    db.session.commit()
    return made


def post(client, path: str, data: dict):
    g.pop("_login_user", None)
    return client.post(f"/api/v1/chat/{path}", json=data)


def ask(client, text: str) -> dict:
    response = post(client, "messages", {"text": text})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reply"]


# ---------------------------------------------------------------- the detector

@pytest.mark.parametrize("text", [
    "Can you add a calendar view?",
    "could you please support Apple Pencil",
    "It would be great if I could export to Word",
    "it would be really nice to have nested tags",
    "Please support two windows side by side",
    "Feature request: scheduled backups",
    "I wish Tidepool had a dark mode",
    "Why can’t I share a single page with a guest?",
    "Will you ever build an Apple Watch app?",
    "Any plans to integrate with Linear?",
    "Are you planning to add Teams integration?",
    "I'd love to see a Kanban board",
])
def test_detector_recognises_feature_requests(text):
    assert idea_requests.looks_like_request(text)


@pytest.mark.parametrize("text", [
    "How do I export my notes to PDF?",
    "how can I add a tag to a page",
    "Can I get my money back?",
    "can you help me reset my password",
    "Where do I find the Android app?",
    "What does error SYNC-409 mean?",
    "",
])
def test_detector_leaves_how_to_questions_alone(text):
    assert not idea_requests.looks_like_request(text)


def test_prefilled_title_drops_the_feature_request_label():
    assert idea_requests.idea_title("Feature request:   scheduled\nbackups ") == "scheduled backups"
    assert len(idea_requests.idea_title("x" * 500)) == idea_services.MAX_TITLE
    assert idea_requests.suggest_url("Can you add A&B?") == "/ideas/new?title=Can%20you%20add%20A%26B%3F"


# ---------------------------------------------------------------- a request meets its idea

def test_paraphrased_request_meets_the_idea_with_status_and_votes(app, client, help_center, ideas):
    idea = ideas["android-dark-mode"]
    reply = ask(client, DARK_MODE_REQUEST)
    assert reply["kind"] == "idea"
    body = reply["reply"]
    assert body["idea"]["id"] == idea.id and body["idea"]["status"] == "in_progress"
    assert body["idea"]["vote_count"] == 3 and body["source"]["url"] == f"/ideas/{idea.id}"
    assert reply["text"] == "This is a known request: “Dark mode on Android” — status In progress, 3 votes."
    html = reply["html"]
    assert f'href="/ideas/{idea.id}"' in html
    # An anonymous visitor is asked to sign in and comes back to the chat.
    assert "/login?next=/chat/" in html and 'value="vote"' not in html
    stored = db.session.scalar(select(ChatMessage).where(ChatMessage.id == reply["id"]))
    assert (stored.reply_kind, stored.source_type, stored.source_id) == ("idea", "idea", str(idea.id))
    # A known request is answered: it is not a knowledge gap.
    assert db.session.scalar(select(func.count()).select_from(KnowledgeGap)) == 0


def test_socket_and_http_give_the_same_idea_reply(app, client, help_center, ideas, create_user, auth):
    customer = create_user()
    auth.login(customer.email)
    http = ask(client, DARK_MODE_REQUEST)
    g.pop("_login_user", None)
    client.get("/chat/")
    g.pop("_login_user", None)
    socket = socketio.test_client(app, namespace=NS, flask_test_client=client)
    g.pop("_login_user", None)
    ack = socket.emit("message", {"text": DARK_MODE_REQUEST}, namespace=NS, callback=True)
    socket.disconnect(namespace=NS)
    assert ack["ok"] is True
    over_socket = ack["reply"]
    assert over_socket["kind"] == http["kind"] == "idea"
    assert over_socket["reply"]["idea"] == http["reply"]["idea"]
    assert over_socket["text"] == http["text"]
    # Signed in: vote and follow buttons instead of the sign-in link.
    assert 'value="vote"' in over_socket["html"] and 'value="follow"' in over_socket["html"]


def test_how_to_question_an_article_answers_keeps_the_article(app, client, help_center, ideas):
    reply = ask(client, "How do I export my notes to PDF?")
    assert reply["kind"] == "answer"
    assert reply["reply"]["source"]["url"] == "/help/articles/export-markdown-pdf-html"


def test_unmatched_request_offers_the_prefilled_idea_form_and_stays_a_gap(app, client, help_center, ideas,
                                                                         create_user, auth):
    reply = ask(client, UNMATCHED_REQUEST)
    assert reply["kind"] == "suggest_idea"
    url = reply["reply"]["suggest_url"]
    assert urlsplit(url).path == "/ideas/new"
    assert parse_qs(urlsplit(url).query)["title"] == [UNMATCHED_REQUEST]
    assert f'href="{url}"' in reply["html"] and "Suggest it as an idea" in reply["html"]
    # The engine abstained: the question is still recorded as a knowledge gap, with the usual next steps.
    assert db.session.scalar(select(func.count()).select_from(KnowledgeGap)) == 1
    assert reply["ask_community_url"].startswith("/forum/new?title=")
    auth.login(create_user().email)
    g.pop("_login_user", None)
    form = client.get(url).get_data(as_text=True)
    assert 'value="Can you add a built-in karaoke mode with song lyrics?"' in form


def test_ordinary_unanswerable_question_is_a_plain_abstain(app, client, help_center, ideas):
    reply = ask(client, "what is the weather in Paris tomorrow")
    assert reply["kind"] == "abstain"


# ---------------------------------------------------------------- vote and follow from the chat

def test_vote_and_follow_over_http_are_idempotent(app, client, help_center, ideas, create_user, auth):
    idea = ideas["android-dark-mode"]
    customer = create_user()
    auth.login(customer.email)
    first = post(client, "ideas/vote", {"idea_id": idea.id})
    assert first.status_code == 200
    assert first.get_json() == {"idea": first.get_json()["idea"], "changed": True, "voted": True,
                                "following": False}
    assert first.get_json()["idea"]["vote_count"] == 4
    again = post(client, "ideas/vote", {"idea_id": idea.id}).get_json()
    assert again["changed"] is False and again["idea"]["vote_count"] == 4
    assert db.session.scalar(select(func.count()).select_from(Vote).where(Vote.idea_id == idea.id)) == 4
    follow = post(client, "ideas/follow", {"idea_id": idea.id}).get_json()
    assert follow["changed"] is True and follow["following"] is True
    assert post(client, "ideas/follow", {"idea_id": idea.id}).get_json()["changed"] is False
    # The reply now shows the viewer's vote and follow.
    html = ask(client, DARK_MODE_REQUEST)["html"]
    assert "4 votes" in html and 'aria-pressed="true"' in html and "Voted" in html and "Following" in html


def test_vote_and_follow_errors_over_http(app, client, ideas, create_user, auth):
    idea = ideas["android-dark-mode"]
    anonymous = post(client, "ideas/vote", {"idea_id": idea.id})
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
    assert post(client, "ideas/follow", {"idea_id": idea.id}).status_code == 401
    auth.login(create_user().email)
    unknown = post(client, "ideas/vote", {"idea_id": 999_999})
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    malformed = post(client, "ideas/vote", {"idea_id": "seven"})
    assert malformed.status_code == 422
    assert db.session.get(Idea, idea.id).vote_count == 3


def test_vote_and_follow_over_the_socket(app, client, ideas, create_user, auth):
    idea = ideas["export-to-docx"]
    g.pop("_login_user", None)
    client.get("/chat/")
    g.pop("_login_user", None)
    anonymous = socketio.test_client(app, namespace=NS, flask_test_client=client)
    g.pop("_login_user", None)
    denied = anonymous.emit("idea_vote", {"idea_id": idea.id}, namespace=NS, callback=True)
    anonymous.disconnect(namespace=NS)
    assert denied["ok"] is False and denied["error"]["code"] == "unauthorized"

    auth.login(create_user().email)
    g.pop("_login_user", None)
    socket = socketio.test_client(app, namespace=NS, flask_test_client=client)

    def emit(event, data):
        g.pop("_login_user", None)
        return socket.emit(event, data, namespace=NS, callback=True)

    voted = emit("idea_vote", {"idea_id": idea.id})
    assert voted["ok"] is True and voted["changed"] is True and voted["idea"]["vote_count"] == 1
    assert emit("idea_vote", {"idea_id": idea.id})["changed"] is False
    followed = emit("idea_follow", {"idea_id": idea.id})
    # The author follows their idea; a customer who votes does not, until they follow.
    assert followed["ok"] is True and followed["changed"] is True and followed["following"] is True
    missing = emit("idea_follow", {"idea_id": 999_999})
    assert missing["ok"] is False and missing["error"]["code"] == "not_found"
    shapeless = emit("idea_vote", {})
    assert shapeless["ok"] is False and shapeless["error"]["fields"] == {"idea_id": ["Required."]}
    socket.disconnect(namespace=NS)
    assert db.session.get(Idea, idea.id).vote_count == 1


# ---------------------------------------------------------------- demand on the idea page

def test_chat_requests_show_on_the_idea_page_with_who_asked(app, client, help_center, ideas, create_user, auth):
    idea = ideas["export-to-docx"]
    assert ask(client, "Can you add export to docx?")["kind"] == "idea"  # anonymous: counted, nobody to name
    asker = create_user(display_name="Priya Asker")
    auth.login(asker.email)
    assert ask(client, "It would be great to export pages as Word documents")["kind"] == "idea"
    assert idea_requests.chat_request_count(idea.id) == 2
    assert idea_requests.chat_requesters(idea.id) == [asker.id]
    assert idea_requests.chat_request_count(ideas["android-dark-mode"].id) == 0

    auth.logout()
    staff = create_user(role=Role.staff)
    auth.login(staff.email)
    g.pop("_login_user", None)
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert '<dd data-demand="chat_requests">2</dd>' in page
    assert '<span class="requester">Priya Asker</span>' in page


def test_a_request_merged_away_still_counts_on_the_surviving_idea(app, client, help_center, ideas, create_user):
    ask(client, "Can you add export to docx?")
    survivor = idea_services.submit_idea(create_user(), "Word export for pages", "")
    staff = create_user(role=Role.staff)
    idea_services.merge_ideas(ideas["export-to-docx"], survivor, staff)
    db.session.commit()
    assert idea_requests.chat_request_count(survivor.id) == 1


def test_the_demo_has_an_idea_a_chat_request_meets(app, client):
    from community.seed import seed_demo

    seed_demo()
    db.session.commit()
    reply = ask(client, "Any plans for a Microsoft Teams integration?")
    assert reply["kind"] == "idea" and reply["reply"]["idea"]["title"] == "Microsoft Teams integration"
