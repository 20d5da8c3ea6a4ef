"""Attachments: type by content, size limit, plain names; refused uploads store nothing; downloads are never pages."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from community.beta.services import reports, uploads
from community.errors import ValidationFailed
from community.extensions import db
from community.models import BetaAttachment, BetaReport
from tests.beta.conftest import png_bytes
from tests.conftest import csrf_token

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'


def _post_report(client, build_id: int, files: list[tuple[bytes, str]], title: str = "Crash when I tap the widget"):
    token = csrf_token(client, f"/beta/builds/{build_id}/report")
    data = {"csrf_token": token, "kind": "bug", "severity": "major", "title": title,
            "attachments": [(io.BytesIO(content), name) for content, name in files]}
    return client.post(f"/beta/builds/{build_id}/report", data=data, content_type="multipart/form-data")


def _stored_files(app) -> list:
    folder = uploads.storage_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("content,name,message", [
    (HTML, "screenshot.png", "is not a screenshot"),
    (SVG, "screenshot.png", "is not a screenshot"),
    (SVG, "drawing.svg", "is not a screenshot"),
    (HTML, "log.txt", "is not a screenshot"),
    (png_bytes(), "../../x.png", "is not a plain file name"),
    (png_bytes(), "..\\x.png", "is not a plain file name"),
    (png_bytes(), "photo.jpg", "is not named like one"),
    (b"\x89PNG\r\n\x1a\n" + b"0" * 64, "broken.png", "is not a screenshot"),
])
def test_bad_uploads_are_refused_with_a_message_and_nothing_is_stored(app, client, auth, beta, content, name, message):
    auth.login("tess@example.com")
    response = _post_report(client, beta.build.id, [(png_bytes(), "fine.png"), (content, name)])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page.replace("&#34;", '"').replace("&#39;", "'")
    assert db.session.scalar(select(func.count()).select_from(BetaReport)) == 0
    assert db.session.scalar(select(func.count()).select_from(BetaAttachment)) == 0
    assert _stored_files(app) == []


def test_an_oversize_file_is_refused(app, client, auth, beta):
    app.config["COKNOW_BETA_MAX_ATTACHMENT_BYTES"] = 2048
    auth.login("tess@example.com")
    response = _post_report(client, beta.build.id, [(png_bytes((400, 400), (1, 2, 3)) + b"\0" * 4096, "big.png")])
    assert response.status_code == 422
    assert "files can be at most 2 KB" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(BetaAttachment)) == 0
    assert _stored_files(app) == []


def test_a_screenshot_and_a_log_are_stored_under_random_names_and_served_as_attachments(app, client, auth, beta):
    auth.login("tess@example.com")
    response = _post_report(client, beta.build.id, [(png_bytes(), "screen shot.png"), (b"12:00 crash\n", "app.log")])
    assert response.status_code == 302
    rows = list(db.session.scalars(select(BetaAttachment).order_by(BetaAttachment.id)))
    assert [(r.original_name, r.content_type) for r in rows] == [("screen shot.png", "image/png"),
                                                                 ("app.log", "text/plain")]
    stored = _stored_files(app)
    assert rows[0].stored_name in stored and rows[0].thumb_name in stored and rows[1].stored_name in stored
    assert all(len(r.stored_name) == 32 and "png" not in r.stored_name for r in rows)
    # Outside the web root: the instance directory, never static/.
    assert str(uploads.storage_dir()).startswith(app.config["COKNOW_INSTANCE_DIR"])
    for row, kind in ((rows[0], "image/png"), (rows[1], "text/plain")):
        got = client.get(f"/beta/attachments/{row.id}")
        assert got.status_code == 200
        assert got.headers["Content-Type"].startswith(kind)
        assert got.headers["Content-Disposition"].startswith("attachment")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in got.headers["Content-Security-Policy"]
    thumb = client.get(f"/beta/attachments/{rows[0].id}?thumb=1")
    assert thumb.headers["Content-Type"] == "image/png" and thumb.data.startswith(b"\x89PNG")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'src="/beta/attachments/{rows[0].id}?thumb=1"' in page

    # Someone outside the report gets 404, as for a missing file.
    auth.logout()
    auth.login("olga@example.com")
    assert client.get(f"/beta/attachments/{rows[0].id}").status_code == 404


def test_the_service_checks_every_file_before_storing_any(app, beta):
    with pytest.raises(ValidationFailed) as err:
        reports.file_report(beta.tester, beta.build, kind="bug", severity="minor", title="x",
                            attachments=[uploads.Upload("a.png", png_bytes()), uploads.Upload("b.png", HTML)])
    assert err.value.fields == {"attachments": [err.value.message]}
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        reports.file_report(beta.tester, beta.build, kind="bug", severity="minor", title="x",
                            attachments=[uploads.Upload(f"{n}.png", png_bytes()) for n in range(6)])
    db.session.rollback()
    assert _stored_files(app) == []
