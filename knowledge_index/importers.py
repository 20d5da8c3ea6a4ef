"""Pure parsers for bulk imports: Markdown folders, Q/A CSV, JSONL and HTML pages.

Each reader yields ImportedDocument or Rejected records and never raises on one bad record.
Document ids derive from the source (path, id column, or content) so a re-import changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .chunking import html_blocks, markdown_blocks

MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class ImportedDocument:
    """One document ready to chunk and index."""

    external_id: str
    title: str
    body: str
    format: str  # "markdown", "html" or "text"
    questions: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # file (and line) it came from


@dataclass(frozen=True)
class Rejected:
    """A record that could not be imported, and why."""

    origin: str
    line: int | None
    reason: str
    external_id: str | None = None


ImportRecord = ImportedDocument | Rejected

_HTML_HINT = re.compile(r"<(p|br|div|a|ul|ol|li|h[1-6]|strong|em|b|i|code|pre|table)\b[^>]*>", re.I)


def guess_format(body: str) -> str:
    """"html" when body carries HTML tags, else "markdown" (plain text is valid Markdown)."""
    return "html" if _HTML_HINT.search(body) else "markdown"


def stable_id(*parts: str) -> str:
    """A short id derived from normalized text, for records that carry no id of their own."""
    norm = "\x1f".join(" ".join(unicodedata.normalize("NFKC", p).casefold().split()) for p in parts)
    return hashlib.sha1(norm.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _humanize(stem: str) -> str:
    return re.sub(r"[-_]+", " ", stem).strip().capitalize()


def _clean_questions(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(q, str) for q in value):
        return None
    return tuple(q.strip() for q in value if q.strip())


# ---------------------------------------------------------------- Markdown
_FM = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split simple YAML front matter (key: value, and "- item" lists) from a Markdown text."""
    m = _FM.match(text.replace("\r\n", "\n"))
    if not m:
        return {}, text
    data: dict[str, Any] = {}
    current: str | None = None
    for raw in m.group(1).split("\n"):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s*-\s+(.*)$", line)
        if item and current is not None:
            if not isinstance(data.get(current), list):
                data[current] = []
            data[current].append(item.group(1).strip().strip("\"'"))
            continue
        kv = re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*)$", line)
        if kv:
            current = kv.group(1).lower()
            value = kv.group(2).strip()
            if value.startswith("[") and value.endswith("]"):
                data[current] = [v.strip().strip("\"'") for v in value[1:-1].split(",") if v.strip()]
            else:
                data[current] = value.strip("\"'") if value else []
    return data, text.replace("\r\n", "\n")[m.end() :]


def read_markdown_folder(folder: str | os.PathLike[str]) -> Iterator[ImportRecord]:
    """Documents from every .md/.markdown file under folder; id = front matter id or relative path."""
    root = Path(folder)
    seen: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in MARKDOWN_SUFFIXES and p.is_file()):
        rel = path.relative_to(root).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            yield Rejected(rel, None, f"unreadable: {exc}")
            continue
        fm, body = parse_front_matter(text)
        ext_id = str(fm.get("id") or rel.rsplit(".", 1)[0])
        title = fm.get("title") if isinstance(fm.get("title"), str) else ""
        if not title:
            heading = next((t for lvl, t in markdown_blocks(body) if lvl), "")
            title = heading or _humanize(path.stem)
        questions = _clean_questions(fm.get("questions")) or ()
        if not body.strip() and not questions:
            yield Rejected(rel, None, "empty body and no questions", ext_id)
            continue
        if ext_id in seen:
            yield Rejected(rel, None, f"duplicate id {ext_id!r} (first in {seen[ext_id]})", ext_id)
            continue
        seen[ext_id] = rel
        meta = {k: v for k, v in fm.items() if k not in ("id", "title", "questions") and isinstance(v, str)}
        yield ImportedDocument(ext_id, title.strip(), body.strip(), "markdown", questions, meta, rel)


# ---------------------------------------------------------------- CSV
def read_qa_csv(path: str | os.PathLike[str]) -> Iterator[ImportRecord]:
    """Question/answer pairs from a CSV with header question,answer[,title][,id]."""
    origin = Path(path).name
    try:
        # Opened apart from its with-block: an unreadable file is a rejected row, not a crash.
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as exc:
        yield Rejected(origin, None, f"unreadable: {exc}")
        return
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            yield Rejected(origin, 1, "empty file")
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            yield Rejected(origin, 1, f"bad header: {exc}")
            return
        if "question" not in header or "answer" not in header:
            yield Rejected(origin, 1, "header must name question and answer columns")
            return
        col = {name: header.index(name) for name in ("question", "answer", "title", "id") if name in header}
        seen: dict[str, int] = {}
        line = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as exc:
                yield Rejected(origin, line, f"bad CSV: {exc}")
                line = reader.line_num + 1
                continue
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield Rejected(origin, start, f"expected {len(header)} fields, got {len(row)}")
                continue

            def get(name: str, row: list[str] = row) -> str:
                return row[col[name]].strip() if name in col else ""

            question, answer = get("question"), get("answer")
            if not question:
                yield Rejected(origin, start, "missing question")
                continue
            if not answer:
                yield Rejected(origin, start, "missing answer")
                continue
            ext_id = get("id") or stable_id(question)
            if ext_id in seen:
                yield Rejected(origin, start, f"duplicate id {ext_id!r} (first on line {seen[ext_id]})", ext_id)
                continue
            seen[ext_id] = start
            title = get("title") or question
            yield ImportedDocument(ext_id, title, answer, "text", (question,) if title != question else (), {}, f"{origin}:{start}")


# ---------------------------------------------------------------- JSONL
def read_jsonl(path: str | os.PathLike[str]) -> Iterator[ImportRecord]:
    """Articles from JSONL lines {"id","title","body","questions":[...]} (id optional, then derived)."""
    origin = Path(path).name
    seen: dict[str, int] = {}
    try:
        # Opened apart from its with-block: an unreadable file is a rejected row, not a crash.
        handle = open(path, encoding="utf-8", errors="strict")  # noqa: SIM115
    except OSError as exc:
        yield Rejected(origin, None, f"unreadable: {exc}")
        return
    with handle:
        line_no = 0
        while True:
            try:
                raw = handle.readline()
            except UnicodeDecodeError as exc:
                line_no += 1
                yield Rejected(origin, line_no, f"not UTF-8: {exc.reason}")
                break  # the decoder lost its place; later line numbers would be wrong
            if not raw:
                break
            line_no += 1
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield Rejected(origin, line_no, f"bad JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(obj, dict):
                yield Rejected(origin, line_no, "not a JSON object")
                continue
            title = obj.get("title")
            body = obj.get("body") or ""
            if not (isinstance(title, str) and title.strip()) and not (isinstance(body, str) and body.strip()) \
                    and not obj.get("questions"):
                yield Rejected(origin, line_no, "empty record: no title, body or questions", _opt_id(obj))
                continue
            if not isinstance(title, str) or not title.strip():
                yield Rejected(origin, line_no, "missing title", _opt_id(obj))
                continue
            if not isinstance(body, str):
                yield Rejected(origin, line_no, "body is not a string", _opt_id(obj))
                continue
            questions = _clean_questions(obj.get("questions"))
            if questions is None:
                yield Rejected(origin, line_no, "questions must be a list of strings", _opt_id(obj))
                continue
            # A title alone is kept: in a list of questions and answers (an FAQ export, LCQMC's questions) the
            # title is the question, and the bot matches questions to it. (A Markdown file without a body is a
            # draft, and is still refused: its title may be no more than its file name.)
            ext_id = _opt_id(obj) or stable_id(title)
            if ext_id in seen:
                yield Rejected(origin, line_no, f"duplicate id {ext_id!r} (first on line {seen[ext_id]})", ext_id)
                continue
            seen[ext_id] = line_no
            fmt = str(obj["format"]) if obj.get("format") in ("markdown", "html", "text") else guess_format(body)
            meta = {k: v for k, v in obj.items() if k in ("lang", "category", "visibility", "url") and isinstance(v, str)}
            yield ImportedDocument(ext_id, title.strip(), body.strip(), fmt, questions, meta, f"{origin}:{line_no}")


def _opt_id(obj: dict[str, Any]) -> str | None:
    value = obj.get("id")
    if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


# ---------------------------------------------------------------- HTML
def read_html_pages(path: str | os.PathLike[str]) -> Iterator[ImportRecord]:
    """Pages from an .html file or every .html/.htm under a folder; id = relative path."""
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix.lower() in HTML_SUFFIXES and p.is_file())
    base = root.parent if root.is_file() else root
    for file in files:
        rel = file.relative_to(base).as_posix()
        try:
            html = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            yield Rejected(rel, None, f"unreadable: {exc}")
            continue
        blocks, page_title = html_blocks(html)
        if not any(not lvl for lvl, _ in blocks):
            yield Rejected(rel, None, "no text content", rel.rsplit(".", 1)[0])
            continue
        title = page_title or next((t for lvl, t in blocks if lvl == 1), "") or _humanize(file.stem)
        yield ImportedDocument(rel.rsplit(".", 1)[0], title, html, "html", (), {}, rel)


def read_path(path: str | os.PathLike[str]) -> Iterator[ImportRecord]:
    """Dispatch on what path is: a folder (Markdown and HTML), .csv, .jsonl, .html or .md file."""
    p = Path(path)
    if p.is_dir():
        yield from read_markdown_folder(p)
        yield from read_html_pages(p)
        return
    suffix = p.suffix.lower()
    if suffix == ".csv":
        yield from read_qa_csv(p)
    elif suffix in (".jsonl", ".ndjson"):
        yield from read_jsonl(p)
    elif suffix in HTML_SUFFIXES:
        yield from read_html_pages(p)
    elif suffix in MARKDOWN_SUFFIXES:
        for rec in read_markdown_folder(p.parent):
            if rec.origin == p.name:
                yield rec
    else:
        yield Rejected(p.name, None, f"unsupported file type {suffix or '(none)'}")
