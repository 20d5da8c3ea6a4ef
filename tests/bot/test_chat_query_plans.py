"""Every question's lookups reach their rows through an index on SQLite, whose planner picks by the schema alone
(no statistics): the visitor's open conversation by its session key, what the conversation's messages decide
about a new one (a stored client_id, the last minute's questions, the last answered question), a re-sent
message's reply, an unanswered question's gap. Before issue 21 the first walked every anonymous conversation,
the re-sent message's reply every chat message, the last answered question sorted all of its conversation's
messages, and the gap every earlier ask."""
from __future__ import annotations

import re
import sqlite3

import pytest
from sqlalchemy.dialects import sqlite

from bot import capture, chat


@pytest.mark.parametrize("statement, indexes", [
    (chat._OPEN_OF_KEY, ["ix_conversations_session_key_last"]),
    (chat._OPEN_OF_USER, ["ix_conversations_user_last"]),
    (chat._FIRST_REPLY, ["ix_chat_messages_reply_to"]),
    # A new message's one read: the conversation with what its messages decide (the subqueries run for the one
    # row found): a stored client_id, the last minute's questions, the last answered question.
    (chat._FIND[chat._OPEN_OF_KEY, True, True], ["ix_conversations_session_key_last", "sqlite_autoindex_chat_messages",
                                                 "ix_chat_messages_conversation_created",
                                                 "ix_chat_messages_conversation_role"]),
    (chat._FIND[chat._OPEN_OF_USER, True, True], ["ix_conversations_user_last", "ix_chat_messages_conversation_role"]),
    # An abstain looks for its gap among the open gaps' distinct wordings, not every time anyone asked.
    (capture._OPEN_GAP_WORDINGS, ["ix_knowledge_gaps_status_last", "ix_knowledge_gap_variants_gap_matches"]),
])
def test_chat_lookup_uses_its_index(database, statement, indexes):
    if not database.startswith("sqlite"):
        pytest.skip("PostgreSQL plans by its statistics; SQLite's planner is the one that chose a walk")
    sql = re.sub(r"\?", "NULL", str(statement.compile(dialect=sqlite.dialect())))
    with sqlite3.connect(database.removeprefix("sqlite:///")) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert not [step for step in plan if step.startswith("SCAN") and "CONSTANT ROW" not in step], plan
    assert not [step for step in plan if "TEMP B-TREE" in step], plan
    for index in indexes:  # (SQLite names a unique constraint's index sqlite_autoindex_<table>_N)
        assert any(index in step for step in plan), (index, plan)
