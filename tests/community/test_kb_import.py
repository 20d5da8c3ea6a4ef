"""`flask coknow kb import`: good records are imported, bad ones named by line, re-runs change nothing."""
import json

from sqlalchemy import func, select

from community import search
from community.extensions import db
from community.models import Article, index_entries


def write_jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_jsonl_with_malformed_lines(app, runner, tmp_path):
    good1 = json.dumps({"id": "refunds", "title": "Get a refund", "body": "Refunds within 14 days.",
                        "questions": ["can I get my money back"]})
    good2 = json.dumps({"id": "pdf", "title": "Export to PDF", "body": "", "questions": ["save a note as pdf"]})
    path = write_jsonl(tmp_path / "kb.jsonl", [
        good1,
        "{not json",
        json.dumps({"id": "x", "body": "no title"}),
        good2,
        json.dumps({"id": "refunds", "title": "Duplicate id", "body": "again"}),
    ])
    result = runner.invoke(args=["coknow", "kb", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output and "3 rejected" in result.output
    for line, reason in ((2, "bad JSON"), (3, "missing title"), (5, "duplicate id")):
        assert f"rejected line {line}:" in result.output and reason in result.output
    assert db.session.scalar(select(func.count()).select_from(Article)) == 2
    hits = search.search("I want my money back", k=1, source_types=["article"])
    assert hits and hits[0].title == "Get a refund"

    seq_before = db.session.scalar(select(func.max(index_entries.c.seq)))
    again = runner.invoke(args=["coknow", "kb", "import", str(path)])
    assert "0 created, 0 updated, 2 unchanged" in again.output
    assert db.session.scalar(select(func.max(index_entries.c.seq))) == seq_before


def test_import_markdown_folder_and_csv(app, runner, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "sync.md").write_text("# Sync problems\n\n## Stuck sync\nSign out and in again.\n", encoding="utf-8")
    result = runner.invoke(args=["coknow", "kb", "import", str(folder)])
    assert result.exit_code == 0 and "1 created" in result.output, result.output
    csv = tmp_path / "faq.csv"
    csv.write_text("question,answer\nHow do I cancel?,Settings › Billing › Cancel.\n", encoding="utf-8")
    result = runner.invoke(args=["coknow", "kb", "import", str(csv)])
    assert "1 created" in result.output, result.output
    assert db.session.scalar(select(func.count()).select_from(Article)) == 2


def test_import_missing_path_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(args=["coknow", "kb", "import", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0 and "does not exist" in result.output
