"""Customer pages, the API and the CLI: who may see what, the import page and job, the access log."""
from __future__ import annotations

import io
import json

from sqlalchemy import func, select

from community.extensions import db
from community.models import CustomerProfile, CustomerView, JobRun, JobState, Role, User
from tests.conftest import csrf_token

CSV = "email,name,company,plan,annual_value\nana@example.com,Ana,Harbor,Team,48000\nbroken,,,,\n"


def test_customer_pages_are_for_staff_and_views_are_logged_for_admins(app, client, auth, world, create_user):
    for path in ("/customers/", f"/customers/{world.ana.id}", "/customers/import", "/customers/segments",
                 "/customers/access-log"):
        assert client.get(path).status_code == 302  # to the login page
    auth.login("bo@example.com")
    for path in ("/customers/", f"/customers/{world.ana.id}", "/customers/import", "/customers/segments"):
        assert client.get(path).status_code == 403
    auth.logout()
    auth.login("staff@example.com")
    listing = client.get("/customers/?segment=most_valuable").get_data(as_text=True)
    assert "Ana Lima" in listing and "Bo Chen" not in listing
    assert client.get("/customers/?sort=nonsense").status_code == 200  # a clear message, the default list
    page = client.get(f"/customers/{world.ana.id}").get_data(as_text=True)
    assert "Most valuable" in page and "Harbor Analytics" in page and "night shift" in page
    assert client.get(f"/customers/{world.staff.id}").status_code == 404
    assert client.get("/customers/access-log").status_code == 403  # staff, not admin
    logged = db.session.scalars(select(CustomerView)).all()
    assert [(v.staff_id, v.customer_id, v.what) for v in logged] == [(world.staff.id, world.ana.id, "page")]
    auth.logout()
    create_user("admin@example.com", "Ada Admin", role=Role.admin)
    auth.login("admin@example.com")
    log = client.get("/customers/access-log").get_data(as_text=True)
    assert "Sam Staff" in log and "Ana Lima" in log


def test_upload_runs_the_import_job_and_lists_bad_rows_by_line(app, client, auth, world):
    auth.login("staff@example.com")
    token = csrf_token(client, "/customers/import")
    response = client.post("/customers/import", data={
        "csrf_token": token, "file": (io.BytesIO(CSV.encode()), "crm.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    run = db.session.scalar(select(JobRun).where(JobRun.kind == "customers.import"))
    assert run.state is JobState.done and run.result["error_count"] == 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<td>3</td>" in page and "is not an e-mail address" in page
    # Segments were recomputed in a second job after the import.
    assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.kind == "customers.segments")) == 1
    missing = client.post("/customers/import", data={"csrf_token": token})
    assert missing.status_code == 422 and "Choose a CSV file" in missing.get_data(as_text=True)


def test_the_import_page_alone_takes_files_beyond_the_site_upload_limit(app, client, auth, world):
    auth.login("staff@example.com")
    token = csrf_token(client, "/customers/import")
    app.config.update(MAX_CONTENT_LENGTH=2048, COKNOW_MAX_CRM_UPLOAD_BYTES=64 * 1024)
    big = "email,name,notes\n" + "".join(f"ana@example.com,Ana,{'x' * 80}\n" for _ in range(1)) + \
        "".join(f"c{i}@example.com,C,{'y' * 80}\n" for i in range(60))
    assert len(big) > 4096
    sent = client.post("/customers/import", data={"csrf_token": token, "file": (io.BytesIO(big.encode()), "crm.csv")},
                       content_type="multipart/form-data")
    assert sent.status_code == 302
    too_big = client.post("/notifications/settings", data={"csrf_token": token, "x": "y" * 4096})
    assert too_big.status_code == 413


def test_segment_rules_page_saves_and_recomputes(app, client, auth, world):
    auth.login("staff@example.com")
    page = client.get("/customers/segments").get_data(as_text=True)
    assert "worth at least 10,000 a year" in page
    token = csrf_token(client, "/customers/segments")
    form = {"csrf_token": token, "high_value": "100000", "engaged_activity": "8", "quiet_activity": "1",
            "high_support_load": "3", "weight_most_valuable": "3", "weight_growth_potential": "1.5",
            "weight_at_risk": "2", "weight_ordinary": "1", "plan_values": "team = 12000\nfree = 0"}
    assert client.post("/customers/segments", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(CustomerProfile, world.ana.id).segment == "ordinary"
    bad = client.post("/customers/segments", data={**form, "plan_values": "team twelve"})
    assert bad.status_code == 422 and "Line 1" in bad.get_data(as_text=True)


def test_public_profile_top_contributors_and_own_export_and_deletion(app, client, auth, world):
    top = client.get("/people/top").get_data(as_text=True)
    assert "Ana Lima" in top and "Accepted answer in the forum" in top
    assert "10 points" in client.get(f"/people/{world.ana.id}").get_data(as_text=True)
    assert client.get(f"/people/{world.staff.id}").status_code == 404
    assert client.get("/account/export").status_code == 302
    auth.login("ana@example.com")
    exported = client.get("/account/export")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert json.loads(exported.data)["account"]["email"] == "ana@example.com"
    token = csrf_token(client, "/account/delete")
    wrong = client.post("/account/delete", data={"csrf_token": token, "password": "nope", "confirm": "y"})
    assert wrong.status_code == 422 and "password is not correct" in wrong.get_data(as_text=True)
    done = client.post("/account/delete", data={"csrf_token": token, "password": "correct horse battery",
                                                "confirm": "y"})
    assert done.status_code == 302
    thread = client.get(f"/forum/t/{world.thread.id}").get_data(as_text=True)
    assert f"Former member {world.ana.id}" in thread and "Open the note first" in thread
    assert auth.login("ana@example.com").status_code == 422


def test_api_customers_timeline_segments_and_export(app, client, auth, world):
    assert client.get("/api/v1/customers").status_code == 401
    auth.login("bo@example.com")
    assert client.get("/api/v1/customers").status_code == 403
    assert client.get("/api/v1/me/export").json["account"]["email"] == "bo@example.com"
    auth.logout()
    auth.login("staff@example.com")
    listing = client.get("/api/v1/customers?sort=value").json
    assert [c["email"] for c in listing["items"]] == ["ana@example.com", "bo@example.com"]
    assert listing["items"][0]["profile"]["segment"] == "most_valuable"
    bad = client.get("/api/v1/customers?segment=gold")
    assert bad.status_code == 422 and "segment" in bad.json["error"]["fields"]
    feed = client.get(f"/api/v1/customers/{world.ana.id}/timeline?per_page=2").json
    assert len(feed["items"]) == 2 and feed["has_more"] and "forum" in feed["features"]
    assert client.get(f"/api/v1/customers/{world.staff.id}").status_code == 404
    seg = client.get("/api/v1/customers/segments").json
    assert seg["counts"]["most_valuable"] == 1 and seg["rules"]["weight_most_valuable"] == 3.0
    refused = client.put("/api/v1/customers/segments", json={"weight_at_risk": 500})
    assert refused.status_code == 422 and "weight_at_risk" in refused.json["error"]["fields"]
    changed = client.put("/api/v1/customers/segments", json={"high_value": 100000}).json
    assert changed["counts"]["most_valuable"] == 0 and changed["job_id"]
    started = client.post("/api/v1/customers/imports", json={"csv": CSV})
    assert started.status_code == 202
    job = client.get(started.json["status_url"]).json
    assert job["state"] == "done" and job["result"]["errors"] == [{"line": 3, "reason": "“broken” is not an e-mail address"}]
    spec = client.get("/api/v1/openapi.json").json
    assert {"/api/v1/customers", "/api/v1/customers/{user_id}/timeline", "/api/v1/customers/segments",
            "/api/v1/me/export"} <= set(spec["paths"])


def test_cli_import_shows_progress_names_bad_lines_and_is_idempotent(app, runner, world, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_text(CSV + "new@example.com,New,Newco,Plus,\n", encoding="utf-8")
    first = runner.invoke(args=["coknow", "customers", "import", str(path), "--create-missing"])
    assert first.exit_code == 0, first.output
    assert "line 3: “broken” is not an e-mail address" in first.output
    assert "1 invited accounts created" in first.output
    second = runner.invoke(args=["coknow", "customers", "import", str(path), "--create-missing"])
    assert "0 profiles written, 2 unchanged, 0 invited accounts created" in second.output
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "new@example.com")) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("name\nAna\n", encoding="utf-8")
    refused = runner.invoke(args=["coknow", "customers", "import", str(bad)])
    assert refused.exit_code == 1 and "no “email” column" in refused.output
    seg = runner.invoke(args=["coknow", "customers", "segments"])
    assert seg.exit_code == 0 and "Most valuable: 1" in seg.output


def test_crm_text_is_shown_escaped(app, client, auth, world):
    from community.customers.services import crm_import

    evil = "<img src=x onerror=alert(1)>"
    crm_import.import_text(f'email,company,"{evil}"\nana@example.com,"<b>Harbor</b>","{evil}"\n')
    db.session.commit()
    auth.login("staff@example.com")
    for path in (f"/customers/{world.ana.id}", "/customers/?q=harbor"):
        page = client.get(path).get_data(as_text=True)
        assert "<b>Harbor</b>" not in page and "&lt;b&gt;Harbor&lt;/b&gt;" in page
        assert evil not in page
