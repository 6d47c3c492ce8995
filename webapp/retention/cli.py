"""`flask --app webapp purge [--dry-run]` and `flask --app webapp erase-invitee EMAIL`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp.models import utcnow
from webapp.retention import erase
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


@click.command("erase-invitee")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_invitee_command(email: str, yes: bool) -> None:
    """Remove one invitee's EMAIL and name from every request, payload, search term,
    sandbox booking and outbound message. Counts stay; an audit entry records it."""
    try:
        found = erase.find(email)
    except erase.InvalidEmail as exc:
        raise click.ClickException(str(exc)) from None
    names = ", ".join(found.names) or "no name"
    click.echo(f"{found.invitee.email} ({names}) is named by {len(found.requests)} request(s).")
    if not yes:
        click.confirm("Erase them everywhere? This cannot be undone", abort=True)
    report = erase.erase(email)
    click.echo("Erased: " + ", ".join(f"{count} {kind}" for kind, count in report.counts.items()))


def register(app: Flask) -> None:
    app.cli.add_command(purge_command)
    app.cli.add_command(erase_invitee_command)
