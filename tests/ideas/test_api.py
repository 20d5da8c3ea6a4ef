"""The ideas API: listing with pagination, create, vote, follow, comment, staff status changes, errors."""
from sqlalchemy import func, select

from community.extensions import db
from community.models import Idea, IdeaComment, IdeaStatus, Vote


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_openapi_documents_idea_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/ideas", "/api/v1/ideas/{idea_id}", "/api/v1/ideas/{idea_id}/vote",
                 "/api/v1/ideas/{idea_id}/follow", "/api/v1/ideas/{idea_id}/comments", "/api/v1/ideas/{idea_id}/status"):
        assert path in paths, path
    assert set(paths["/api/v1/ideas/{idea_id}/vote"]) >= {"post", "delete"}


def test_create_vote_follow_comment_and_list(client, auth, create_user, create_idea):
    create_user(email="ana@example.com")
    assert client.post("/api/v1/ideas", json={"title": "Anonymous idea"}).status_code == 401
    auth.login("ana@example.com")
    created = client.post("/api/v1/ideas", json={"title": "Slack notifications", "body": "When an idea ships",
                                                  "tags": ["Integrations"]})
    assert created.status_code == 201
    idea = created.get_json()
    assert idea["status"] == "open" and idea["tags"] == ["integrations"] and idea["follower_count"] == 1
    voted = client.post(f"/api/v1/ideas/{idea['id']}/vote").get_json()
    assert voted == {"idea": {**voted["idea"], "id": idea["id"], "vote_count": 1, "follower_count": 1},
                     "voted": True, "following": True, "changed": True}
    assert client.post(f"/api/v1/ideas/{idea['id']}/vote").get_json()["changed"] is False
    assert client.delete(f"/api/v1/ideas/{idea['id']}/vote").get_json()["idea"]["vote_count"] == 0
    assert client.delete(f"/api/v1/ideas/{idea['id']}/follow").get_json()["following"] is False
    comment = client.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": "Also Teams?"})
    assert comment.status_code == 201 and comment.get_json()["official"] is False
    assert [c["body"] for c in client.get(f"/api/v1/ideas/{idea['id']}/comments").get_json()] == ["Also Teams?"]

    for n in range(3):
        create_idea(f"Another idea {n}")
    listing = client.get("/api/v1/ideas?sort=new&page=1&page_size=2")
    assert listing.status_code == 200 and len(listing.get_json()) == 2
    assert '"total": 4' in listing.headers["X-Pagination"]
    assert client.get("/api/v1/ideas?sort=sideways").status_code == 422


def test_bad_input_gets_clear_errors_and_writes_nothing(client, auth, create_user, create_idea):
    idea = create_idea()
    create_user(email="ana@example.com")
    auth.login("ana@example.com")
    empty = client.post("/api/v1/ideas", json={"title": "", "body": "x"})
    assert empty.status_code == 422 and "title" in empty.get_json()["error"]["fields"]
    no_title = client.post("/api/v1/ideas", json={"body": "x"})
    assert no_title.status_code == 422 and "title" in no_title.get_json()["error"]["fields"]
    long_body = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "x" * 20_001})
    assert long_body.status_code == 422 and "body" in long_body.get_json()["error"]["fields"]
    huge = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "x" * (10 * 1024 * 1024)})
    assert huge.status_code == 413 and huge.get_json()["error"]["code"] == "too_large"
    missing = client.post("/api/v1/ideas/99999/vote")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    status = client.post(f"/api/v1/ideas/{idea.id}/status", json={"status": "planned"})
    assert status.status_code == 403 and status.get_json()["error"]["code"] == "forbidden"
    assert client.post(f"/api/v1/ideas/{idea.id}/comments", json={"body": "  "}).status_code == 422
    assert _count(Idea) == 1 and _count(Vote) == 0 and _count(IdeaComment) == 0
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).status is IdeaStatus.open


def test_staff_changes_status(client, auth, create_idea, staff):
    idea = create_idea()
    auth.login("staff@example.com")
    declined = client.post(f"/api/v1/ideas/{idea.id}/status", json={"status": "declined"})
    assert declined.status_code == 422 and "reason" in declined.get_json()["error"]["fields"]
    planned = client.post(f"/api/v1/ideas/{idea.id}/status", json={"status": "planned", "reason": "Q3"})
    assert planned.status_code == 200 and planned.get_json()["status"] == "planned"
