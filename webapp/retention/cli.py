"""`flask --app webapp purge [--dry-run]` and `flask --app webapp erase-invitee EMAIL`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp.models import utcnow
from webapp.retention.purge import KINDS, purge
from webapp.templating import iso_utc


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@with_appcontext
def purge_command(dry_run: bool) -> None:
    """Apply RETENTION_DAYS now: remove raw payloads, visits and outbound delivery logs
    older than that many days (counts and request summaries stay)."""
    days = current_app.config.get("RETENTION_DAYS")
    if not days:
        raise click.ClickException(
            "RETENTION_DAYS is not set, so everything is kept and there is nothing to purge."
        )
    report = purge(utcnow(), days, dry_run=dry_run)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb}, older than {days} day(s) (before {iso_utc(report.cutoff)}):")
    for kind, words in KINDS.items():
        click.echo(f"  {report.counts.get(kind, 0):>8}  {words}")
    if dry_run:
        click.echo("Dry run: nothing was changed.")


def register(app: Flask) -> None:
    app.cli.add_command(purge_command)
