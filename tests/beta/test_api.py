"""The beta JSON API: same rules as the pages, errors in the site's JSON shape, in the OpenAPI document."""
from __future__ import annotations

import base64

from sqlalchemy import func, select

from community.extensions import db
from community.models import BetaAttachment, BetaReport
from tests.beta.conftest import png_bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_openapi_lists_programs_builds_reports_and_surveys(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/beta/programs", "/api/v1/beta/programs/{slug}/builds", "/api/v1/beta/builds/{build_id}/reports",
                 "/api/v1/beta/reports/{report_id}", "/api/v1/beta/reports/{report_id}/attachments",
                 "/api/v1/beta/builds/{build_id}/surveys", "/api/v1/beta/surveys/{survey_id}/responses",
                 "/api/v1/beta/surveys/{survey_id}/results", "/api/v1/beta/programs/{slug}/membership"):
        assert path in paths, path


def test_program_build_report_survey_through_the_api(app, client, auth, beta):
    auth.login("staff@example.com")
    created = client.post("/api/v1/beta/programs", json={"name": "Web app beta", "enrollment": "invite_only"})
    assert created.status_code == 201 and created.get_json()["slug"] == "web-app-beta"
    bad = client.post("/api/v1/beta/programs", json={"name": "  ", "enrollment": "open"})
    assert bad.status_code == 422 and "name" in bad.get_json()["error"]["fields"]
    build = client.post(f"/api/v1/beta/programs/{beta.program.slug}/builds", json={"version": "4.13.0-beta.2"})
    assert build.status_code == 201
    build_id = build.get_json()["id"]
    survey = client.post(f"/api/v1/beta/builds/{build_id}/surveys", json={
        "title": "Stability", "questions": [{"kind": "rating", "prompt": "How stable?", "scale_max": 5}]})
    assert survey.status_code == 201
    survey_id, question_id = survey.get_json()["id"], survey.get_json()["questions"][0]["id"]
    auth.logout()

    auth.login("tess@example.com")
    forbidden = client.post("/api/v1/beta/programs", json={"name": "Mine"})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/beta/programs/web-app-beta/membership", json={}).status_code == 403
    report = client.post(f"/api/v1/beta/builds/{build_id}/reports", json={
        "kind": "bug", "severity": "major", "title": "Widget flickers", "device": "Pixel 8",
        "attachments": [{"filename": "shot.png", "content_base64": _b64(png_bytes())}]})
    assert report.status_code == 201, report.get_json()
    body = report.get_json()
    assert body["state"] == "new" and body["attachments"][0]["filename"] == "shot.png"
    refused = client.post(f"/api/v1/beta/builds/{build_id}/reports", json={
        "kind": "bug", "severity": "major", "title": "x",
        "attachments": [{"filename": "../../x.png", "content_base64": _b64(png_bytes())}]})
    assert refused.status_code == 422
    assert "attachments" in refused.get_json()["error"]["fields"]
    html = client.post(f"/api/v1/beta/reports/{body['id']}/attachments", json={
        "attachments": [{"filename": "x.png", "content_base64": _b64(b"<html><script>1</script></html>")}]})
    assert html.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(BetaAttachment)) == 1
    assert db.session.scalar(select(func.count()).select_from(BetaReport)) == 1
    assert [r["id"] for r in client.get("/api/v1/beta/reports").get_json()] == [body["id"]]
    answered = client.post(f"/api/v1/beta/surveys/{survey_id}/responses", json={"answers": {str(question_id): 4}})
    assert answered.status_code == 201
    assert client.get(f"/api/v1/beta/surveys/{survey_id}/results").status_code == 403
    # A form post to the API is refused: only JSON changes state.
    assert client.post("/api/v1/beta/programs", data={"name": "x"}).status_code == 415
    auth.logout()

    auth.login("olga@example.com")
    assert client.get(f"/api/v1/beta/reports/{body['id']}").status_code == 404
    assert client.get(f"/api/v1/beta/programs/{beta.program.slug}/builds").status_code == 404
    auth.logout()

    auth.login("staff@example.com")
    moved = client.post(f"/api/v1/beta/reports/{body['id']}/state", json={"state": "fixed"})
    assert moved.status_code == 422 and "fixed_in_build_id" in moved.get_json()["error"]["fields"]
    moved = client.post(f"/api/v1/beta/reports/{body['id']}/state",
                        json={"state": "fixed", "fixed_in_build_id": build_id})
    assert moved.get_json()["state"] == "fixed"
    results = client.get(f"/api/v1/beta/surveys/{survey_id}/results").get_json()
    assert results["responses"] == 1 and results["questions"][0]["average"] == 4.0
    listed = client.get(f"/api/v1/beta/reports?program={beta.program.slug}").get_json()
    assert [r["id"] for r in listed] == [body["id"]]


def test_anonymous_api_calls_get_401(client, beta):
    response = client.post(f"/api/v1/beta/builds/{beta.build.id}/reports", json={"kind": "bug", "title": "x"})
    assert response.status_code == 401
    assert client.get("/api/v1/beta/programs").status_code == 200
