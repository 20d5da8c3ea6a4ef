"""`flask coknow …` commands: create-admin, seed, serve, and feature commands."""
from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from community.errors import DomainError
from community.extensions import db

coknow = AppGroup("coknow", help="CoKnow administration commands.")


@coknow.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", "display_name", prompt="Display name", default="Admin")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email: str, display_name: str, password: str) -> None:
    """Create an admin account, or make an existing account admin."""
    from community.auth.services import register_user
    from community.models import Role, find_user_by_email

    existing = find_user_by_email(email)
    if existing is not None:
        existing.role = Role.admin
        db.session.commit()
        click.echo(f"{existing.email} is now an admin.")
        return
    try:
        user = register_user(email, display_name, password, role=Role.admin)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    click.echo(f"Created admin {user.email}.")


@coknow.command("seed")
@click.option("--if-empty", is_flag=True, help="Skip quickly when demo data already exists.")
@click.option("--scale", type=click.IntRange(4, 100_000_000), default=None,
              help="Then add this many synthetic forum posts (benchmarks: 1000000), by a tenth as many members.")
@click.option("--members", type=click.IntRange(1, 100_000_000), default=None,
              help="With --scale: how many synthetic members write them (default: a tenth of the posts).")
def seed(if_empty: bool, scale: int | None, members: int | None) -> None:
    """Create the demo company's staff, customers and content (idempotent); --scale adds a large community."""
    from community.seed import has_demo_data, seed_demo

    if scale is not None:
        from community.scale import seed_scale

        if not has_demo_data():
            seed_demo(progress=click.echo)
            db.session.commit()
        started = time.monotonic()
        done = seed_scale(scale, members=members, progress=click.echo)
        db.session.commit()
        click.echo(f"{done.summary()} ({time.monotonic() - started:.0f} s; each server process indexes them "
                   "from the database when it starts)")
        return
    if if_empty and has_demo_data():
        click.echo("Demo data already present.")
        return
    report = seed_demo(progress=click.echo)
    db.session.commit()
    from community import search

    search.save_snapshot()
    click.echo(report.summary())


@coknow.command("index-snapshot")
def index_snapshot() -> None:
    """Build the vector index from the database and save it as the snapshot in COKNOW_INDEX_DIR.

    Processes started afterwards load it; with COKNOW_INDEX_MAP_SNAPSHOT=1 running ones switch to it.
    """
    from community import search

    started = time.monotonic()
    passages, snapshot = search.build_snapshot()
    click.echo(f"{passages} passages indexed into {snapshot} ({time.monotonic() - started:.0f} s)")


@coknow.command("index-reindex")
def index_reindex() -> None:
    """Embed what the loaded models have not: rows of another model, and the multilingual vectors of the passages
    the bot answers from (after the migration that added them, or a model change); then save a fresh snapshot."""
    from community import search
    from community.models import index_entries
    from knowledge_index.table import reindex_all

    started = time.monotonic()
    with db.engine.begin() as conn:
        changed = reindex_all(conn, index_entries, progress=True)
    passages, snapshot = search.build_snapshot()
    click.echo(f"{changed} index rows re-embedded; {passages} passages indexed into {snapshot} "
               f"({time.monotonic() - started:.0f} s)")


@coknow.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Serve the site with Socket.IO (development server, threads)."""
    import os

    from community.extensions import socketio
    from community.security import QuietRequestHandler

    # Flask refuses app.run() inside its own CLI unless told this is a deliberate server.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    from community import jobs

    # The embedded default runs jobs in this process; with COKNOW_JOB_WORKERS=0 a separate
    # `flask coknow jobs worker` runs them.
    jobs.start_embedded_workers(current_app.config["COKNOW_JOB_WORKERS"])
    from community.rendered import start_rerender_if_stale

    # Pages read stored HTML; bodies stored before this renderer (or never) are made again in the background.
    if start_rerender_if_stale():
        db.session.commit()
        click.echo("Re-rendering stored posts in the background (pages render them live until then).")
    from community.concurrency import freeze_after_warm_up
    from community.hooks import server_starting

    # The bot loads the index and fits its model now, in the background, not on the first question.
    started = server_starting.send(current_app._get_current_object())  # type: ignore[attr-defined]  # the proxy's real app
    freeze_after_warm_up([thread for _receiver, thread in started], wait=False)
    click.echo(f"CoKnow on http://{host}:{port}/")
    # Werkzeug prints its own "development server" warning next: it is right for a site on the internet,
    # and harmless for the demo and a small team on one machine.
    click.echo("This is the embedded single-process server, made for the demo and small sites; Werkzeug's "
               "'development server' warning below refers to it. For a public site see README, 'Production mode'.")
    socketio.run(current_app._get_current_object(), host=host, port=port, allow_unsafe_werkzeug=True,  # type: ignore[attr-defined]  # the proxy's real app
                 request_handler=QuietRequestHandler)


markup_cli = AppGroup("markup", help="Stored renderings of posts, ideas, comments and articles.")


@markup_cli.command("rerender")
@click.option("--background", is_flag=True, help="Queue it as a job (when any body is stale) instead of waiting.")
def markup_rerender(background: bool) -> None:
    """Render and store every body whose stored HTML is missing or made by an older renderer."""
    from community.rendered import rerender_stale, start_rerender_if_stale

    if background:
        queued = start_rerender_if_stale()
        db.session.commit()
        click.echo("Re-render queued." if queued else "Every stored body is current.")
        return
    done = rerender_stale(on_batch=lambda n: db.session.commit())
    db.session.commit()
    click.echo(f"Re-rendered {done} bodies.")


jobs_cli = AppGroup("jobs", help="The background job queue.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
def jobs_worker(workers: int) -> None:
    """Run queued jobs until stopped (production: beside the web processes)."""
    from community import jobs

    if jobs.huey.immediate:
        raise click.ClickException("Jobs run inline in this configuration (COKNOW_JOBS_URL=immediate or testing).")
    click.echo(f"Job worker with {workers} threads on {type(jobs.huey.storage).__name__}.")
    jobs.run_worker(workers)


def register_cli(app: Flask) -> None:
    """Attach the command group to app."""
    from community.kb.cli import kb_cli

    coknow.add_command(kb_cli)
    from community.forum.cli import forum_cli

    coknow.add_command(forum_cli)
    from community.notifications.cli import outbox_cli

    coknow.add_command(outbox_cli)
    from community.insights.cli import insights_cli

    coknow.add_command(insights_cli)
    coknow.add_command(jobs_cli)
    coknow.add_command(markup_cli)
    from community.customers.cli import customers_cli

    coknow.add_command(customers_cli)
    app.cli.add_command(coknow)
