"""`flask coknow outbox ...`: deliver and retry notification e-mails (run it from cron)."""
from __future__ import annotations

import click
from flask.cli import AppGroup

outbox_cli = AppGroup("outbox", help="The notification e-mail outbox.")


@outbox_cli.command("send")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000),
              help="Most messages to try in this run.")
@click.option("--ignore-backoff", is_flag=True, help="Retry failed messages now instead of after their wait.")
def outbox_send(limit: int, ignore_backoff: bool) -> None:
    """Send queued e-mails, retry failed ones (capped, with backoff) and recover interrupted sends."""
    from community.notifications.outbox import deliver_due

    click.echo(deliver_due(limit=limit, ignore_backoff=ignore_backoff).summary() + ".")
