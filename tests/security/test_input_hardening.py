"""Malformed and out-of-range input gets a 4xx naming the field (JSON under /api/), never a 500."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from community.extensions import db, socketio
from tests.conftest import Auth

HUGE = "99999999999999999999"
JUST_OVER = str(2**31)  # PostgreSQL's integer ends one below


@pytest.mark.parametrize("number", [HUGE, JUST_OVER])
@pytest.mark.parametrize("path", ["/api/v1/ideas/{n}", "/api/v1/ideas/{n}/comments", "/api/v1/forum/threads/{n}",
                                  "/ideas/{n}", "/forum/t/{n}", "/forum/r/{n}/history"])
def test_huge_ids_in_paths_are_not_found(client, path, number):
    response = client.get(path.format(n=number))
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/api/v1/ideas?page=" + HUGE, "/api/v1/forum/threads?page=" + JUST_OVER,
                                  "/ideas/?page=" + HUGE, "/forum/?page=" + HUGE, "/forum/t/1?quote=" + HUGE])
def test_huge_numbers_in_query_strings_do_not_fail(client, path):
    assert client.get(path).status_code in (200, 404)


def test_huge_chat_ids_are_refused_naming_the_field(client, create_user):
    user = create_user(email="a@example.com")
    Auth(client).login(user.email)
    for path, body, field in [("/api/v1/chat/feedback", {"message_id": int(HUGE), "helpful": True}, "message_id"),
                              ("/api/v1/chat/choices", {"message_id": 2**31, "choice": "kb:1"}, "message_id"),
                              ("/api/v1/chat/ideas/vote", {"idea_id": int(HUGE)}, "idea_id")]:
        response = client.post(path, json=body)
        assert 400 <= response.status_code < 500, (path, response.status_code)
        error = response.get_json()["error"]
        assert field in error["fields"] or response.status_code == 404, (path, error)


def test_huge_ids_over_the_socket_are_refused(app, client, create_user):
    user = create_user(email="a@example.com")
    Auth(client).login(user.email)
    chat = socketio.test_client(app, namespace="/chat", flask_test_client=client)
    for event, payload in [("feedback", {"message_id": int(HUGE), "helpful": True}),
                           ("idea_vote", {"idea_id": 2**31}), ("choose", {"message_id": int(HUGE), "choice": "kb:1"})]:
        ack = chat.emit(event, payload, namespace="/chat", callback=True)
        assert ack["ok"] is False and ack["error"]["code"] != "internal_error", (event, ack)
    chat.disconnect(namespace="/chat")


def test_a_reply_body_that_is_not_text_names_the_field(client, create_user, make_thread):
    user = create_user(email="a@example.com")
    thread = make_thread(user)
    Auth(client).login(user.email)
    response = client.post(f"/api/v1/forum/threads/{thread.id}/replies", json={"body": True})
    assert response.status_code == 422
    assert "body" in response.get_json()["error"]["fields"]


def test_a_database_error_still_answers_the_api_in_json(app, client):
    # On PostgreSQL a failed statement aborts the transaction; the error handler used to load the
    # current user inside it, fail again, and answer with the HTML 500 page.
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error handler answers
    app.add_url_rule("/api/v1/_broken", "broken", lambda: db.session.execute(text("SELECT * FROM no_such_table")))
    response = client.get("/api/v1/_broken")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"


def test_trace_and_other_unknown_methods_get_allow(client):
    response = client.open("/api/v1/ideas", method="TRACE")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    page = client.open("/ideas/", method="PUT")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


@pytest.mark.parametrize("method,path", [("POST", "/api/v1/health"), ("GET", "/api/v1/me"), ("POST", "/api/v1/chat/handoff"),
                                         ("GET", "/")])
def test_bodies_over_the_limit_are_refused_everywhere(client, method, path):
    big = b"x" * (3 * 1024 * 1024)
    response = client.open(path, method=method, data=big, content_type="application/json")
    assert response.status_code == 413


def test_error_bodies_match_the_documented_error_schema(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    body = client.get("/api/v1/ideas/12345").get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert json.dumps(spec).count('"X-Pagination"') >= 1
    for path_item in spec["paths"].values():
        for op in path_item.values():
            if not isinstance(op, dict):
                continue  # the path's shared "parameters" list
            for response in op.get("responses", {}).values():
                header = response.get("headers", {}).get("X-Pagination")
                if header:
                    assert header["schema"] == {"type": "string"}


def test_text_with_a_nul_character_is_refused_naming_the_field(app, client):
    # PostgreSQL cannot store NUL; every database refuses it the same way, before anything is written.
    response = client.get("/api/v1/forum/threads?tag=a%00b")
    assert response.status_code == 422 and "tag" in response.get_json()["error"]["fields"]
    response = client.post("/api/v1/chat/messages", json={"text": "hello\x00"})
    assert response.status_code == 422 and "text" in response.get_json()["error"]["fields"]
