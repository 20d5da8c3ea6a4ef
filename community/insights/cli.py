"""`flask coknow insights ...`: start a theme run or the digest from cron or a shell (both run as jobs)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

insights_cli = AppGroup("insights", help="Themes, trends and the staff digest.")


@insights_cli.command("run")
@click.option("--source", "sources", multiple=True, help="thread, idea, gap, ... (repeat; default thread, idea, gap)")
@click.option("--days", type=int, default=None, help="Only items from the last DAYS days (default: everything).")
def run_command(sources: tuple[str, ...], days: int | None) -> None:
    """Queue a theme run (a worker or the server's job threads run it)."""
    from community.errors import DomainError
    from community.insights.jobs import start_theme_run
    from community.viewhelpers import commit_or_rollback

    try:
        run = commit_or_rollback(lambda: start_theme_run(None, list(sources) or None, days, scheduled=True))
    except DomainError as error:
        fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {fields}".strip()) from None
    click.echo(f"Theme run {run.id} queued as job {run.job_id}.")


@insights_cli.command("digest")
def digest_command() -> None:
    """Queue the weekly digest e-mail to subscribed staff."""
    from community.extensions import db
    from community.insights.jobs import send_digest
    from community.jobs import start_job

    job = start_job(send_digest)
    db.session.commit()
    click.echo(f"Digest queued as job {job.id}.")
