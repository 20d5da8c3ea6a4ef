"""Migrations applied to populated tables, on SQLite and on PostgreSQL: 0020 adds the second-vector columns and
`flask coknow index-reindex` gives the existing help-center rows their multilingual vectors; 0022 marks a knowledge
gap's repeated wordings."""
from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from community import create_app
from community.extensions import db

PG_URL = os.environ.get("TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    schema = f"coknow_mig_{secrets.token_hex(4)}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migration_adds_second_vectors_and_reindex_fills_them(fresh_url, tmp_path):
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url, "COKNOW_INSTANCE_DIR": str(tmp_path), "TESTING": True,
                      "COKNOW_INDEX_DIR": str(tmp_path / "index")})
    with app.app_context():
        upgrade(revision="0019_reply_page_index")
        assert "vector2" not in {c["name"] for c in inspect(db.engine).get_columns("index_entries")}
        # A help-center row as written before the revision: MiniLM's vector only.
        with db.engine.begin() as conn:
            seq = conn.execute(text("SELECT nextval('index_entries_seq')")).scalar() \
                if conn.dialect.name == "postgresql" else 1
            conn.execute(text(
                "INSERT INTO index_entries (source_type, source_id, chunk_key, chunk_no, kind, title, heading_path, text,"
                " meta, vector, model, dim, content_hash, seq, deleted) VALUES ('article', '1', 'title', 0, 'title',"
                " '重置密码', '', '重置密码', '{}', :v, 'm', 384, '', :seq, false)"), {"v": b"\0" * 1536, "seq": seq})
        upgrade(revision="heads")
        columns = {c["name"] for c in inspect(db.engine).get_columns("index_entries")}
        assert {"vector2", "model2", "dim2"} <= columns
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT vector2, model2 FROM index_entries")).one() == (None, None)
        result = app.test_cli_runner().invoke(args=["coknow", "index-reindex"])
        assert result.exit_code == 0, result.output
        with db.engine.connect() as conn:
            model, dim, size = conn.execute(text("SELECT model2, dim2, length(vector2) FROM index_entries")).one()
        assert (model, dim, size) == ("use-multilingual-v3", 512, 2048)
        db.engine.dispose()


def test_migration_marks_a_gaps_repeated_wordings(fresh_url, tmp_path):
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_url, "COKNOW_INSTANCE_DIR": str(tmp_path), "TESTING": True,
                      "COKNOW_INDEX_DIR": str(tmp_path / "index")})
    with app.app_context():
        upgrade(revision="0021_chat_lookup_indexes")
        with db.engine.begin() as conn:
            for gap_id in (1, 2):
                conn.execute(text("INSERT INTO knowledge_gaps (id, title, status, ask_count, first_asked_at,"
                                  " last_asked_at, dismissed_reason) VALUES (:id, 'kindle', 'open', 2,"
                                  " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '')"), {"id": gap_id})
            # Gap 1 heard "kindle" twice and "scribe" once; gap 2 heard "kindle" once (a repeat only within a gap).
            for variant_id, gap_id, question in ((1, 1, "kindle"), (2, 1, "scribe"), (3, 1, "kindle"), (4, 2, "kindle")):
                conn.execute(text("INSERT INTO knowledge_gap_variants (id, gap_id, question, vector, source, created_at)"
                                  " VALUES (:id, :gap, :q, :v, 'abstain', CURRENT_TIMESTAMP)"),
                             {"id": variant_id, "gap": gap_id, "q": question, "v": b"\0" * 16})
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            flags = conn.execute(text("SELECT id, matches FROM knowledge_gap_variants ORDER BY id")).all()
        assert [(i, bool(m)) for i, m in flags] == [(1, True), (2, True), (3, False), (4, True)]
        db.engine.dispose()
