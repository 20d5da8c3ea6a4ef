"""`flask coknow customers …`: CRM import and segment recomputation from the command line."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from community.errors import DomainError
from community.extensions import db

customers_cli = AppGroup("customers", help="Customer knowledge: CRM import and value segments.")


@customers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--create-missing", is_flag=True, help="Create invited accounts for unknown e-mails (else report them).")
@click.option("--show-errors", default=50, show_default=True, help="How many bad rows to list.")
def import_command(path: Path, create_missing: bool, show_errors: int) -> None:
    """Import customer attributes from a CRM export (CSV with an email column); safe to run twice."""
    from community.customers.services import crm_import
    from community.customers.services.segments import recompute_segments

    total = crm_import.count_rows(path)
    report = crm_import.ImportReport()
    try:
        with click.progressbar(length=total, label="Importing", file=sys.stderr, show_pos=True) as bar:
            for batch in crm_import.batches(path):
                crm_import.import_batch(batch, create_missing, report)
                db.session.commit()  # each batch is whole; a re-run skips what is already in
                bar.update(len(batch))
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    for bad in report.errors[:show_errors]:
        click.echo(f"line {bad.line}: {bad.reason}", err=True)
    if report.error_count > show_errors:
        click.echo(f"… and {report.error_count - show_errors} more bad rows", err=True)
    if report.user_ids:
        click.echo("Recomputing segments…", err=True)
        recompute_segments(report.user_ids if len(report.user_ids) <= 5000 else None)
        db.session.commit()
    click.echo(report.summary())


@customers_cli.command("segments")
def segments_command() -> None:
    """Recompute every customer's value segment and interests (run it from cron, e.g. hourly)."""
    from community.customers.services.segments import recompute_segments, segment_label

    counts = recompute_segments()
    db.session.commit()
    click.echo(", ".join(f"{segment_label(k)}: {n}" for k, n in counts.items()))
