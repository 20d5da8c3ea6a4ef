"""`flask coknow kb …`: bulk import into the help center."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

kb_cli = AppGroup("kb", help="Help-center commands.")


@kb_cli.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--prefix", default="", help="Namespace for the records' ids (keeps two sources apart).")
def import_command(path: Path, prefix: str) -> None:
    """Import a Markdown folder, a question/answer CSV, a JSONL file or HTML pages."""
    from community import search
    from community.extensions import db
    from community.kb.importing import import_path

    def show(progress) -> None:
        click.echo(f"  {progress.done} records processed ({progress.report.summary()})", err=True)

    report = import_path(path, prefix=prefix, on_progress=show, commit_batch=db.session.commit)
    for line, reason in report.rejected:
        click.echo(f"rejected line {line}: {reason}" if line else f"rejected: {reason}", err=True)
    search.save_snapshot()
    click.echo(f"Imported from {path}: {report.summary()}.")
