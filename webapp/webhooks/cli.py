"""`flask deliveries ...`: reprocess failed deliveries, apply pending ones by hand, and run
the applier process."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp.audit.reprocessing import record_reprocessed, record_reprocessed_failed
from webapp.webhooks import applier, processing

deliveries = AppGroup("deliveries", help="Cronofy deliveries received by the webhook receiver.")


@deliveries.command("reprocess")
@click.option("--all-failed", "all_failed", is_flag=True, help="Every failed delivery.")
@click.option("--id", "delivery_id", type=int, help="One delivery (failed or pending).")
def reprocess_command(all_failed: bool, delivery_id: int | None) -> None:
    """Parse and apply failed deliveries again."""
    if all_failed == (delivery_id is not None):
        raise click.UsageError("give exactly one of --all-failed or --id N")
    if delivery_id is not None:
        try:
            status = processing.reprocess(processing.current_inbox(), delivery_id)
        except processing.DeliveryNotFound as exc:
            raise click.ClickException(f"no delivery with id {delivery_id}") from exc
        except processing.NotReprocessable as exc:
            raise click.ClickException(str(exc)) from exc
        record_reprocessed(delivery_id, status)  # audit log (issue 12 §4)
        click.echo(f"delivery {delivery_id}: {status}")
        return
    counts = processing.reprocess_failed(processing.current_inbox())
    record_reprocessed_failed(counts)  # audit log (issue 12 §4)
    if not counts:
        click.echo("no failed deliveries")
        return
    for status, count in sorted(counts.items()):
        click.echo(f"{status}: {count}")


@deliveries.command("apply-pending")
def apply_pending_command() -> None:
    """Apply deliveries that were stored but not applied yet (the servers' appliers do this
    on their own; this is for a server that is stopped)."""
    counts = processing.drain(processing.current_inbox())
    click.echo(f"applied {sum(counts.values())} pending delivery(ies)")


@deliveries.command("run-applier")
@click.option(
    "--parent",
    type=int,
    help="Stop when this process (the one that started this one) is gone: how gunicorn starts it.",
)
def run_applier_command(parent: int | None) -> None:
    """Apply deliveries as the receiver stores them, in this process, until SIGTERM.

    gunicorn starts one beside its workers (gunicorn.conf.py); without it the workers
    apply what they store themselves."""
    applier.serve(current_app._get_current_object(), parent)  # type: ignore[attr-defined]


def register(app: Flask) -> None:
    app.cli.add_command(deliveries)
