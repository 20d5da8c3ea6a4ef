"""Beta pages: who may open what, CSRF on every form post, user text escaped, the chat's prefilled report."""
from __future__ import annotations

import pytest

from community.beta.services import known_issues, reports, surveys
from community.extensions import db
from tests.conftest import csrf_token

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def filed(beta):
    report = reports.file_report(beta.tester, beta.build, kind="bug", severity="major", title="Crash " + XSS,
                                 steps=XSS, actual=XSS, device=XSS)
    reports.change_state(beta.staff, report, "confirmed")
    issue = known_issues.publish(beta.staff, report, title="Known " + XSS, body=XSS, workaround=XSS, public=True)
    survey = surveys.create_survey(beta.staff, beta.build, "Survey " + XSS, [{"kind": "text", "prompt": XSS}])
    db.session.commit()
    return report, issue, survey


def _pages(beta, report, issue, survey) -> dict[str, str]:
    slug = beta.program.slug
    return {
        "index": "/beta/", "program": f"/beta/{slug}/", "board": f"/beta/{slug}/board",
        "testers": f"/beta/{slug}/testers", "health": f"/beta/{slug}/health", "edit": f"/beta/{slug}/edit",
        "new_program": "/beta/new", "new_build": f"/beta/{slug}/builds/new", "build": f"/beta/builds/{beta.build.id}",
        "report_form": f"/beta/builds/{beta.build.id}/report", "report": f"/beta/reports/{report.id}",
        "known_issue": f"/beta/known-issues/{issue.id}", "survey": f"/beta/surveys/{survey.id}",
        "new_survey": f"/beta/builds/{beta.build.id}/surveys/new",
    }


EXPECTED = {
    # page: (anonymous, outsider customer, tester, staff)
    "index": (200, 200, 200, 200), "program": (200, 200, 200, 200), "known_issue": (200, 200, 200, 200),
    "board": (302, 403, 403, 200), "testers": (302, 403, 403, 200), "health": (302, 403, 403, 200),
    "edit": (302, 403, 403, 200), "new_program": (302, 403, 403, 200), "new_build": (302, 403, 403, 200),
    "new_survey": (302, 403, 403, 200),
    "build": (302, 404, 200, 200), "report_form": (302, 404, 200, 200), "report": (302, 404, 200, 200),
    "survey": (302, 404, 200, 200),
}


def test_who_may_open_each_page(app, client, auth, beta, filed):
    pages = _pages(beta, *filed)
    for who, column in ((None, 0), ("olga@example.com", 1), ("tess@example.com", 2), ("staff@example.com", 3)):
        if who:
            auth.login(who)
        for name, path in pages.items():
            status = client.get(path).status_code
            assert status == EXPECTED[name][column], (who, name, status)
        if who:
            auth.logout()


def test_user_text_is_escaped_everywhere(app, client, auth, beta, filed):
    pages = _pages(beta, *filed)
    auth.login("staff@example.com")
    for name in ("program", "board", "report", "known_issue", "survey", "build", "index", "health"):
        html = client.get(pages[name]).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, name
    auth.logout()
    auth.login("tess@example.com")
    for name in ("program", "report", "known_issue", "survey", "index"):
        html = client.get(pages[name]).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, name


def test_form_posts_need_the_csrf_token(app, client, auth, beta, filed):
    report, _issue, survey = filed
    app.config["WTF_CSRF_ENABLED"] = True
    auth.login("staff@example.com")
    slug = beta.program.slug
    for path in (f"/beta/{slug}/apply", f"/beta/{slug}/leave", f"/beta/reports/{report.id}/comment",
                 f"/beta/reports/{report.id}/state", f"/beta/reports/{report.id}/merge",
                 f"/beta/reports/{report.id}/known-issue", f"/beta/reports/{report.id}/idea",
                 f"/beta/reports/{report.id}/me-too", f"/beta/surveys/{survey.id}", "/beta/new",
                 f"/beta/builds/{beta.build.id}/report"):
        assert client.post(path, data={"body": "x"}).status_code == 400, path


def test_the_chat_opens_the_report_form_prefilled_for_the_testers_current_build(app, client, auth, beta):
    auth.login("tess@example.com")
    response = client.get("/beta/report-from-chat?text=Hi!+The+widget+crashes+when+I+tap+it.+Every+time.")
    assert response.status_code == 302 and f"/beta/builds/{beta.build.id}/report" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="The widget crashes when I tap it"' in page
    auth.logout()
    auth.login("olga@example.com")
    assert client.get("/beta/report-from-chat?text=x").headers["Location"].endswith("/beta/")


def test_environment_is_remembered_for_the_next_report(app, client, auth, beta):
    auth.login("tess@example.com")
    token = csrf_token(client, f"/beta/builds/{beta.build.id}/report")
    filed = client.post(f"/beta/builds/{beta.build.id}/report", data={
        "csrf_token": token, "kind": "praise", "title": "Lovely", "os": "Android 15", "device": "Galaxy S24",
        "app_version": "4.13.0-beta.1"})
    assert filed.status_code == 302, filed.get_data(as_text=True)[-3000:]
    page = client.get(f"/beta/builds/{beta.build.id}/report").get_data(as_text=True)
    assert 'value="Galaxy S24"' in page and 'value="Android 15"' in page


def test_navigation_shows_beta(client):
    assert 'href="/beta/"' in client.get("/").get_data(as_text=True)


def test_staff_define_a_survey_on_its_page_and_testers_answer_it(app, client, auth, beta):
    auth.login("staff@example.com")
    path = f"/beta/builds/{beta.build.id}/surveys/new"
    bad = client.post(path, data={"csrf_token": csrf_token(client, path), "title": "Q", "questions": "How stable?"})
    assert bad.status_code == 422 and "Line 1: start with rating:" in bad.get_data(as_text=True)
    made = client.post(path, data={"csrf_token": csrf_token(client, path), "title": "First week",
                                   "questions": "rating: How stable is it?\nmultiple: Where? | Phone | Tablet"})
    assert made.status_code == 302
    survey_path = made.headers["Location"]
    auth.logout()
    auth.login("tess@example.com")
    page = client.get(survey_path).get_data(as_text=True)
    assert "How stable is it?" in page
    survey = surveys.surveys_for(beta.build)[0]
    rating, where = survey.questions
    answered = client.post(survey_path, data={"csrf_token": csrf_token(client, survey_path),
                                              f"q{rating.id}": "5", f"q{where.id}": ["Phone", "Tablet"]})
    assert answered.status_code == 302
    assert client.post(survey_path, data={"csrf_token": csrf_token(client, survey_path),
                                          f"q{rating.id}": "4"}).status_code == 409
    auth.logout()
    auth.login("staff@example.com")
    results = client.get(survey_path).get_data(as_text=True)
    assert "Average 5.0 of 5" in results and "1 response" in results


def test_similar_open_reports_are_suggested_while_a_tester_types(app, client, auth, beta):
    first = reports.file_report(beta.tester, beta.build, kind="bug", severity="major",
                                title="Widget shows a blank gray box after updating")
    db.session.commit()
    auth.login("toby@example.com")
    found = client.get(f"/beta/builds/{beta.build.id}/similar?q=Widget is a blank grey box after the update").get_json()
    assert [r["id"] for r in found["reports"]] == [first.id]
    assert found["reports"][0]["me_too_url"] == f"/beta/reports/{first.id}/me-too"
    assert client.get(f"/beta/builds/{beta.build.id}/similar?q=How do I export to PDF").get_json() == {"reports": []}
    auth.logout()
    auth.login("olga@example.com")
    assert client.get(f"/beta/builds/{beta.build.id}/similar?q=blank widget").status_code == 404
