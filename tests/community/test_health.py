"""/api/v1/health reports each part a production deployment depends on."""
from __future__ import annotations

from community import search
from community.kb import services as kb
from community.models import ArticleStatus


def test_health_reports_database_jobs_and_index_freshness(app, client):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["ok"] and checks["redis"] == {"configured": False, "ok": True}
    assert checks["jobs"]["ok"] and checks["jobs"]["backend"] == "inline"
    kb.create_article("Reset your password", "Use the link on the sign-in page.", status=ArticleStatus.published)
    from community.extensions import db

    db.session.commit()
    search.search("password")  # loads and catches up this process's cache
    index = client.get("/api/v1/health").get_json()["checks"]["index"]
    assert index["ok"] and index["loaded"] and index["behind"] == 0 and index["passages"] >= 1


def test_an_unreachable_redis_degrades_but_keeps_serving(app, client):
    app.config["SOCKETIO_MESSAGE_QUEUE"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/api/v1/health")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False and "Error" in body["checks"]["redis"]["error"]
