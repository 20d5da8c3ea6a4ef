"""`flask coknow forum import`: threads, replies, accepted answers, bad lines, idempotency."""
from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import func, select

from community.extensions import db
from tests.paths import shared_data
from community.forum.importer import BadRecord, ParsedThread, read_lines
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


# The first 60 threads of the real export: two import batches (50 a batch), with replies and accepted
# answers. What the import proves does not grow with the file, but its cost does: importing all 225 threads
# spent about 30 s per database encoding their passages.
COFFEE_SLICE = 60


def test_import_coffee_stack_exchange(app, runner, tmp_path):
    """The real coffee.stackexchange export: every line parses, with unique thread and reply ids; a slice of
    it imports every thread and accepted answer; a second run changes nothing."""
    coffee = shared_data("forum", "coffee_stackexchange.jsonl")
    lines = coffee.read_text(encoding="utf-8").splitlines()
    parsed = [item for _n, item in read_lines(lines)]
    assert [p for p in parsed if isinstance(p, BadRecord)] == []
    threads = [p for p in parsed if isinstance(p, ParsedThread)]
    assert len({t.id for t in threads}) == len(threads) == 225
    assert len({r.id for t in threads for r in t.replies}) == sum(len(t.replies) for t in threads) == 327
    assert sum(any(r.accepted for r in t.replies) for t in threads) == 105

    part = tmp_path / coffee.name  # same name, so the same source prefix as the whole file
    part.write_text("\n".join(lines[:COFFEE_SLICE]) + "\n", encoding="utf-8")
    started = time.monotonic()
    result = runner.invoke(args=["coknow", "forum", "import", str(part)])
    assert result.exit_code == 0, result.output
    assert "60 threads, 104 replies, 38 accepted answers" in result.output
    assert "0 lines rejected" in result.output
    assert count(Thread) == 60 and count(Reply) == 104
    assert count(Thread, Thread.accepted_reply_id.is_not(None)) == 38
    assert live_index("thread") == 60 and live_index("answer") == 38
    snapshot = (count(Thread), count(Reply), count(User), count(Tag), count(ForumCategory),
                db.session.scalar(select(func.max(index_entries.c.seq))))
    first_run = time.monotonic() - started

    again = runner.invoke(args=["coknow", "forum", "import", str(part)])
    assert "0 threads, 0 replies, 0 accepted answers and 0 accounts created; 60 threads already imported" in again.output
    assert snapshot == (count(Thread), count(Reply), count(User), count(Tag), count(ForumCategory),
                        db.session.scalar(select(func.max(index_entries.c.seq))))
    print(f"coffee import took {first_run:.1f}s")
