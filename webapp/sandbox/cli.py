"""`flask --app webapp sandbox ...`: check a receiver by hand with a signed notification.

`sandbox send` works whether or not the sandbox is on: it only needs a client secret.
"""

from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp.models import utcnow
from webapp.sandbox import dispatch, notifications, transport
from webapp.sandbox.slots import SLOT_MINUTES, available_slots
from webapp.urls import public_origin


@click.group("sandbox", help="The simulated Cronofy: send signed notifications by hand.")
def sandbox_group() -> None:
    pass


def cli_payload(
    notification_type: str, correlation_id: str, scheduling_request_id: str | None
) -> dict:
    """A complete notification for a made-up invitee, built like the sandbox's own."""
    now = utcnow()
    slot = available_slots(now)[0]
    token = "cli-" + secrets.token_hex(8)
    base = public_origin()
    declined = notification_type == notifications.DECLINED
    facts = notifications.BookingFacts(
        scheduling_request_id=scheduling_request_id or "srq_sandbox_" + secrets.token_hex(12),
        summary="Sandbox booking with Sandbox Tester",
        name="Sandbox Tester",
        email="sandbox-tester@example.com",
        start=None if declined else slot.start,
        end=None if declined else slot.end,
        duration_minutes=SLOT_MINUTES,
        correlation_id=correlation_id,
        captured_data={"notes": "Sent with flask sandbox send."},
    )
    urls = notifications.BookingUrls(
        view_url=f"{base}/sandbox/bookings/{token}",
        dashboard_url=f"{base}/sandbox/scheduler/{dispatch.dashboard_id(facts.scheduling_request_id)}",
    )
    return notifications.build_payload(
        notification_type,
        facts,
        urls,
        now,
        slot_selection="pending" if declined else "complete",
    )


@sandbox_group.command("send")
@click.option("--url", required=True, help="The receiver, e.g. https://host/webhooks/cronofy.")
@click.option(
    "--type",
    "notification_type",
    default=notifications.TIME_CHOSEN,
    show_default=True,
    help="notification.type; the sandbox also uses "
    f"{notifications.RESCHEDULED} and {notifications.DECLINED}.",
)
@click.option("--correlation-id", required=True, help="Put in event.metadata.scheduler.")
@click.option(
    "--secret",
    help="Client secret to sign with (default: every secret in CRONOFY_CLIENT_SECRET, one "
    "HMAC each, as Cronofy signs).",
)
@click.option("--srq-id", help="scheduling_request_id (default: a new srq_sandbox_... id).")
@with_appcontext
def send(
    url: str,
    notification_type: str,
    correlation_id: str,
    secret: str | None,
    srq_id: str | None,
) -> None:
    """Send one signed notification to URL and print the answer (exit 1 unless 2xx)."""
    client_secrets = [secret] if secret else list(current_app.config.get("CLIENT_SECRETS") or [])
    if not client_secrets:
        raise click.ClickException(
            "No client secret to sign with: pass --secret or set CRONOFY_CLIENT_SECRET."
        )
    payload = cli_payload(notification_type, correlation_id, srq_id)
    body = notifications.encode(payload)
    result = transport.post(url, body, notifications.signed_headers(body, client_secrets))
    if result.status is None:
        raise click.ClickException(f"Could not deliver to {url}: {result.error}")
    scheduling_request_id = payload["scheduling_request"]["scheduling_request_id"]
    click.echo(f"Sent {notification_type} for {scheduling_request_id} to {url}")
    click.echo(f"HTTP {result.status}")
    if result.body:
        click.echo(result.body)
    if not result.ok:
        raise click.ClickException(f"The receiver answered HTTP {result.status}, not 2xx.")


@sandbox_group.command("drain")
@with_appcontext
def drain_command() -> None:
    """Send every due sandbox notification once, now, and say how it went."""
    from webapp.sandbox.outbox import send_due

    result = send_due()
    click.echo(
        f"attempted {result.attempted}, delivered {result.delivered}, failed {result.failed}"
    )


def register(app: Flask) -> None:
    app.cli.add_command(sandbox_group)
