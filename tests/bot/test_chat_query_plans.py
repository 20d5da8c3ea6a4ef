"""Every question's lookups reach their rows through an index on SQLite, whose planner picks by the schema alone
(no statistics): the visitor's open conversation by its session key, a re-sent message's reply by reply_to_id.
Before issue 21 the first walked every anonymous conversation and the second every chat message."""
from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy.dialects import sqlite

from bot import chat


@pytest.mark.parametrize("statement, index", [
    (chat._OPEN_OF_KEY, "ix_conversations_session_key_last"),
    (chat._OPEN_OF_USER, "ix_conversations_user_last"),
    (chat._FIRST_REPLY, "ix_chat_messages_reply_to"),
    (chat._BY_CLIENT_ID, "uq_chat_messages_conversation_client"),
    (chat._RECENT_QUESTIONS, "ix_chat_messages_conversation_created"),
])
def test_chat_lookup_uses_its_index(database, statement, index):
    if not database.startswith("sqlite"):
        pytest.skip("PostgreSQL plans by its statistics; SQLite's planner is the one that chose a walk")
    sql = re.sub(r"\?", "NULL", str(statement.compile(dialect=sqlite.dialect())))
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
    assert plan.startswith("SEARCH"), plan
    # SQLite names a unique constraint's index sqlite_autoindex_<table>_N.
    assert index in plan or (index.startswith("uq_") and "sqlite_autoindex_chat_messages" in plan), plan
