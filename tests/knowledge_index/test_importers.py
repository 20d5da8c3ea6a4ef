"""Import parsers: good records imported, bad ones named with line numbers, stable ids."""

from __future__ import annotations

from pathlib import Path

from knowledge_index.importers import (
    ImportedDocument,
    Rejected,
    read_html_pages,
    read_jsonl,
    read_markdown_folder,
    read_path,
    read_qa_csv,
)


def _split(records: list) -> tuple[list[ImportedDocument], list[Rejected]]:
    return [r for r in records if isinstance(r, ImportedDocument)], [r for r in records if isinstance(r, Rejected)]


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "kb.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"id": "a1", "title": "Refunds", "body": "Money back in 30 days.", "questions": ["refund?"]}',
                '{"id": "a2", "title": "Broken", "body": ',
                '{"id": "a3", "body": "no title here"}',
                '{"id": "a4", "title": " ", "body": "", "questions": []}',
                '{"id": "a1", "title": "Dup", "body": "x"}',
                "[1, 2]",
                '{"id": "a5", "title": "Intent only", "body": "", "questions": ["set an alarm", " "]}',
                '{"title": "No id", "body": "<p>Derived <b>id</b></p>"}',
                '{"id": "a6", "title": "Q", "body": "b", "questions": "not a list"}',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    docs, bad = _split(list(read_jsonl(path)))
    assert [d.external_id for d in docs][:2] == ["a1", "a5"]
    assert docs[1].questions == ("set an alarm",)
    assert docs[2].format == "html" and len(docs[2].external_id) == 16
    assert [(b.line, b.reason.split(":")[0]) for b in bad] == [
        (2, "bad JSON"),
        (3, "missing title"),
        (4, "empty record"),
        (5, "duplicate id 'a1' (first on line 1)"),
        (6, "not a JSON object"),
        (9, "questions must be a list of strings"),
    ]
    # Re-reading gives identical documents (stable ids).
    assert _split(list(read_jsonl(path)))[0] == docs


def test_csv_question_answer(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        'question,answer,title\n'
        'How do I get a refund?,"Ask support,\nwithin 30 days.",Refunds\n'
        ',Orphan answer,\n'
        'No answer here,,\n'
        'How do I get a refund?,Again,\n'
        'Too,many,fields,here\n'
        'Where is my invoice?,In your account.,\n',
        encoding="utf-8",
    )
    docs, bad = _split(list(read_qa_csv(path)))
    assert [(d.title, d.body, d.questions) for d in docs] == [
        ("Refunds", "Ask support,\nwithin 30 days.", ("How do I get a refund?",)),
        ("Where is my invoice?", "In your account.", ()),
    ]
    assert [(b.line, b.reason.split(" (")[0]) for b in bad] == [
        (4, "missing question"),
        (5, "missing answer"),
        (6, f"duplicate id {docs[0].external_id!r}"),
        (7, "expected 3 fields, got 4"),
    ]
    header_only = tmp_path / "bad.csv"
    header_only.write_text("q,a\nx,y\n", encoding="utf-8")
    assert [r.reason for r in read_qa_csv(header_only)] == ["header must name question and answer columns"]


def test_markdown_folder(tmp_path: Path) -> None:
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "refunds.md").write_text("---\ntitle: Refunds\nquestions:\n  - money back?\n---\n## When\n\n30 days.\n")
    (tmp_path / "getting-started.md").write_text("# Getting started\n\nSign up first.\n")
    (tmp_path / "no_heading.md").write_text("Just text.\n")
    (tmp_path / "empty.md").write_text("---\ntitle: Nothing\n---\n")
    docs, bad = _split(list(read_markdown_folder(tmp_path)))
    assert [(d.external_id, d.title, d.questions) for d in docs] == [
        ("billing/refunds", "Refunds", ("money back?",)),
        ("getting-started", "Getting started", ()),
        ("no_heading", "No heading", ()),
    ]
    assert [(b.origin, b.reason) for b in bad] == [("empty.md", "empty body and no questions")]


def test_html_pages_and_dispatch(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<html><head><title>Shipping</title></head><body><h1>Ship</h1><p>Two days.</p></body></html>")
    (tmp_path / "b.htm").write_text("<html><body><script>x()</script></body></html>")
    docs, bad = _split(list(read_html_pages(tmp_path)))
    assert [(d.external_id, d.title, d.format) for d in docs] == [("a", "Shipping", "html")]
    assert [(b.origin, b.reason) for b in bad] == [("b.htm", "no text content")]
    assert [type(r).__name__ for r in read_path(tmp_path)] == ["ImportedDocument", "Rejected"]
    assert read_path(tmp_path / "x.pdf").__next__().reason == "unsupported file type .pdf"


def test_jsonl_title_only_record_is_a_question(tmp_path: Path) -> None:
    """An FAQ export (or LCQMC's questions) can hold a question as the whole record: kept, body empty."""
    path = tmp_path / "kb.jsonl"
    path.write_text('{"id": "0", "title": "开初婚未育证明怎么弄？", "body": "", "questions": []}\n'
                    '{"id": "1", "title": "", "body": ""}\n', encoding="utf-8")
    docs, bad = _split(list(read_jsonl(path)))
    assert [(d.external_id, d.title, d.body) for d in docs] == [("0", "开初婚未育证明怎么弄？", "")]
    assert [(b.line, b.reason) for b in bad] == [(2, "empty record: no title, body or questions")]
