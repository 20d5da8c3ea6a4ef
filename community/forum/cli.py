"""`flask coknow forum …`: bulk import of Stack Exchange-style threads."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

forum_cli = AppGroup("forum", help="Forum administration commands.")


@forum_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="Prefix of the external ids (default: the file name without extension).")
@click.option("--category", "default_category", default="General", show_default=True,
              help="Category for threads whose record has none.")
@click.option("--batch-size", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--background", is_flag=True, help="Queue it as a job for the job workers instead of running it here.")
def import_threads(file: Path, source: str | None, default_category: str, batch_size: int, background: bool) -> None:
    """Import threads from a JSONL FILE (one thread with its replies per line); safe to run again."""
    from community.extensions import db
    from community.forum.importer import import_lines

    if background:
        from community.forum.import_job import import_forum_file
        from community.jobs import start_job

        run = start_job(import_forum_file, path=str(file.resolve()), source=source or file.stem,
                        default_category=default_category, batch_size=batch_size)
        db.session.commit()
        click.echo(f"Queued as job {run.id}; a job worker (or `flask coknow serve`) runs it. "
                   f"Progress: GET /api/v1/jobs/{run.id}")
        return

    lines = file.read_text(encoding="utf-8").splitlines()
    with click.progressbar(length=len(lines), label="Importing threads", file=sys.stderr) as bar:
        done = 0

        def advance(line: int) -> None:
            nonlocal done
            bar.update(line - done)
            done = line

        try:
            report = import_lines(lines, source or file.stem, default_category=default_category,
                                  batch_size=batch_size, on_batch=advance)
        except Exception:
            db.session.rollback()
            raise
        bar.update(len(lines) - done)
    for line, reason in report.rejected:
        click.echo(f"line {line}: {reason}", err=True)
    click.echo(f"Imported {report.summary()}.")
