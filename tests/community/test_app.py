import pytest
from sqlalchemy import text

from community.config import ConfigError, load_config
from community.extensions import db


def test_public_pages(client):
    for path in ("/", "/login", "/register", "/help/", "/ideas/", "/forum/", "/beta/", "/chat/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'href="/static/css/coknow.css"' in response.get_data(as_text=True)


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_config_rejects_malformed_settings(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_config({"DATABASE_URL": "not a url"}, tmp_path)
    with pytest.raises(ConfigError, match="SQLite or PostgreSQL"):
        load_config({"DATABASE_URL": "mysql://x@y/z"}, tmp_path)
    with pytest.raises(ConfigError, match="SOCKETIO_MESSAGE_QUEUE"):
        load_config({"SOCKETIO_MESSAGE_QUEUE": "http://nope"}, tmp_path)
    with pytest.raises(ConfigError, match="COKNOW_MAX_UPLOAD_BYTES"):
        load_config({"COKNOW_MAX_UPLOAD_BYTES": "lots"}, tmp_path)


def test_secret_key_is_generated_once(tmp_path):
    first = load_config({}, tmp_path)["SECRET_KEY"]
    second = load_config({}, tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_config({}, tmp_path / "other")["SECRET_KEY"] != first


def test_plain_postgresql_url_uses_psycopg(tmp_path):
    cfg = load_config({"DATABASE_URL": "postgresql://u@h/db"}, tmp_path)
    assert cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_sqlite_pragmas(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10000
