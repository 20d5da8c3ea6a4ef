"""`flask coknow forum import`: threads, replies, accepted answers, bad lines, idempotency."""
from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import func, select

from community.extensions import db
from tests.paths import shared_data
from community.models import ForumCategory, Reply, Tag, Thread, User, index_entries



def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def live_index(source_type: str) -> int:
    t = index_entries.c
    return db.session.scalar(select(func.count(func.distinct(t.source_id))).where(
        t.source_type == source_type, t.deleted.is_(False))) or 0


def write(tmp_path, name, records) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


GOOD = {
    "id": "q1", "category": "Brewing", "title": "Why is my espresso sour?", "tags": ["Espresso", "extraction"],
    "created": "2020-03-01T10:00:00", "author": "Grace Hopper", "body": "It tastes <b>sour</b>.",
    "replies": [
        {"id": "a1", "author": "Ada", "created": "2020-03-01T11:00:00", "body": "Grind finer.", "accepted": True, "score": 4},
        {"id": "a2", "author": None, "created": "2020-03-02T11:00:00", "body": "Hotter water.", "accepted": False, "score": 1},
    ],
}


def test_import_reports_bad_lines_and_imports_the_rest(app, runner, tmp_path):
    bad_reply = dict(GOOD, id="q3", replies=[{"id": "x", "created": "2020", "body": "", "accepted": False, "score": 0}])
    path = write(tmp_path, "brew.jsonl", [
        GOOD, "{not json", dict(GOOD, id="q2", title=""), bad_reply,
        dict(GOOD, id="q4", category=None, replies=[], author="ada@example.com"),
    ])
    result = runner.invoke(args=["coknow", "forum", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "line 2: not valid JSON" in result.output
    assert "line 3: 'title' must be a non-empty string" in result.output
    assert "line 4: reply 1:" in result.output
    assert "2 threads, 2 replies, 1 accepted answers and 3 accounts created" in result.output

    thread = db.session.scalar(select(Thread).where(Thread.external_id == "brew:q1"))
    assert thread.category.name == "Brewing" and [t.name for t in thread.tags] == ["espresso", "extraction"]
    assert thread.accepted_reply.external_id == "brew:a1" and thread.reply_count == 2
    assert thread.author.display_name == "Grace Hopper" and thread.author.password_hash is None
    assert thread.author.email.endswith("@imported.invalid") and not thread.author.check_password("")
    assert db.session.scalar(select(Thread).where(Thread.external_id == "brew:q4")).category.name == "General"
    assert db.session.scalar(select(User).where(User.email == "ada@example.com")) is not None
    assert live_index("thread") == 2 and live_index("answer") == 1

    again = runner.invoke(args=["coknow", "forum", "import", str(path)])
    assert "0 threads, 0 replies, 0 accepted answers and 0 accounts created; 2 threads already imported" in again.output

    # A later export with one more reply adds just that reply.
    grown = dict(GOOD, replies=GOOD["replies"] + [
        {"id": "a3", "author": "Ada", "created": "2020-03-05T11:00:00", "body": "Dose more.", "accepted": False, "score": 0}])
    runner.invoke(args=["coknow", "forum", "import", "--source", "brew", str(write(tmp_path, "other.jsonl", [grown]))])
    assert count(Reply, Reply.thread_id == thread.id) == 3 and count(User) == 3


def test_import_coffee_stack_exchange(app, runner):
    """The real coffee.stackexchange export: every thread and accepted answer; a second run changes nothing."""
    coffee = shared_data("forum", "coffee_stackexchange.jsonl")
    started = time.monotonic()
    result = runner.invoke(args=["coknow", "forum", "import", str(coffee)])
    assert result.exit_code == 0, result.output
    assert "225 threads, 327 replies, 105 accepted answers" in result.output
    assert "0 lines rejected" in result.output
    assert count(Thread) == 225 and count(Reply) == 327
    assert count(Thread, Thread.accepted_reply_id.is_not(None)) == 105
    assert live_index("thread") == 225 and live_index("answer") == 105
    snapshot = (count(Thread), count(Reply), count(User), count(Tag), count(ForumCategory),
                db.session.scalar(select(func.max(index_entries.c.seq))))
    first_run = time.monotonic() - started

    again = runner.invoke(args=["coknow", "forum", "import", str(coffee)])
    assert "0 threads, 0 replies, 0 accepted answers and 0 accounts created; 225 threads already imported" in again.output
    assert snapshot == (count(Thread), count(Reply), count(User), count(Tag), count(ForumCategory),
                        db.session.scalar(select(func.max(index_entries.c.seq))))
    print(f"coffee import took {first_run:.1f}s")
