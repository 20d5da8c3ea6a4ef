"""Bulk import into the help center: parse with knowledge_index.importers, write through kb services."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import select

from community import search
from community.errors import DomainError
from community.extensions import db
from community.kb.services import ImportReport, clean_questions, content_hash, import_document
from community.models import Article
from knowledge_index.importers import ImportedDocument, ImportRecord, Rejected, read_path

BATCH = 64


@dataclass
class ImportProgress:
    done: int
    report: ImportReport


def _digest(doc: ImportedDocument) -> str | None:
    try:
        return content_hash(" ".join(doc.title.split()), doc.body, clean_questions(doc.questions),
                            doc.meta.get("category"))
    except DomainError:
        return None  # import_document will reject it with the reason


def _external_id(prefix: str, doc: ImportedDocument) -> str:
    return f"{prefix}:{doc.external_id}" if prefix else doc.external_id


def import_records(
    records: Iterable[ImportRecord],
    *,
    prefix: str = "",
    id_as_slug: bool = False,
    on_progress: Callable[[ImportProgress], None] | None = None,
    commit_batch: Callable[[], None] | None = None,
) -> ImportReport:
    """Import parsed records in batches: each batch is embedded together and flushed together; the
    channel that runs the import (the CLI) passes commit_batch to commit each one as it goes.

    A rejected record (bad line, invalid field) is reported with its line and skipped;
    the others are imported. Re-running the same import changes nothing.
    """
    report = ImportReport()
    batch: list[ImportedDocument] = []
    done = 0

    def flush() -> None:
        nonlocal done
        if not batch:
            return
        existing: dict[str | None, str | None] = dict(
            db.session.execute(  # type: ignore[arg-type]  # Row pairs
                select(Article.external_id, Article.content_hash).where(
                    Article.external_id.in_([_external_id(prefix, d) for d in batch])
                )
            ).all()
        )
        # Encode the new and changed documents' passages in one call: the model is far
        # faster on one large batch than on many small ones.
        search.batch_embedding([(d.title, d.body, d.format, d.questions) for d in batch
                                if existing.get(_external_id(prefix, d)) != _digest(d)],
                               with_sentences=True, second=True)  # as reindex_article indexes a published article
        for doc in batch:
            try:
                with db.session.begin_nested():
                    import_document(
                        _external_id(prefix, doc), doc.title, doc.body, questions=doc.questions,
                        body_format=doc.format, category_slug=doc.meta.get("category"), report=report,
                        slug=doc.external_id if id_as_slug else None,
                    )
            except DomainError as error:
                line = int(doc.origin.rsplit(":", 1)[-1]) if doc.origin.rsplit(":", 1)[-1].isdigit() else 0
                report.rejected.append((line, f"{doc.origin}: {error.message} {error.fields}".strip()))
        if commit_batch is not None:
            commit_batch()
        done += len(batch)
        batch.clear()
        if on_progress:
            on_progress(ImportProgress(done, report))

    for record in records:
        if isinstance(record, Rejected):
            report.rejected.append((record.line or 0, f"{record.origin}: {record.reason}"))
            continue
        batch.append(record)
        if len(batch) >= BATCH:
            flush()
    flush()
    return report


def import_path(path: str | Path, **kwargs) -> ImportReport:
    """Import a Markdown folder, a question/answer CSV, a JSONL file or HTML pages."""
    return import_records(read_path(path), **kwargs)
