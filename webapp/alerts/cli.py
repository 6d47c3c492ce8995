"""`flask --app webapp alerts check-silence`: the silence alarm from cron (or by hand)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from webapp.alerts import silence
from webapp.models import utcnow
from webapp.templating import iso_utc

alerts = AppGroup("alerts", help="Alerts that watch the app itself.")


@alerts.command("check-silence")
def check_silence_command() -> None:
    """Check for a silence alarm; tell the admins once per episode. Exit 1 while it is up."""
    state, started = silence.check(utcnow())
    last = iso_utc(state.last_notification_at) or "never"
    if not state.alarming:
        click.echo(f"ok: last notification {last}")
        return
    click.echo(
        f"ALARM: no Cronofy notification for {state.hours_silent} hours (last: {last}); "
        f"{state.clicks} person click(s) since. "
        + ("Admins told now." if started else "Admins were told when it began.")
    )
    raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(alerts)
