"""Sandbox notifications through the shared outbox (webapp/outbox/), as sender kind "sandbox".

A booking change queues its signed notification in the same transaction (`enqueue`, called
by dispatch.py); the outbox's worker POSTs it later over real HTTP, never from inside the
invitee's request. The sandbox keeps Cronofy's own retry rhythm rather than the outbox's
default: 1, 2, 4, ... seconds capped at 60, for about a day, then it gives up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask

from webapp import outbox
from webapp.models import OutboxMessage
from webapp.sandbox import transport
from webapp.sandbox.notifications import CONTENT_TYPE
from webapp.webhooks.signatures import HEADER

KIND = "sandbox"
MAX_BACKOFF_SECONDS = 60
RETRY_WINDOW = timedelta(hours=24)


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 1, 2, 4, ... seconds, at most 60."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


POLICY = outbox.RetryPolicy(
    waits=tuple(backoff(n) for n in range(1, 8)), repeat_last=True, window=RETRY_WINDOW
)


def enqueue(
    *, booking_id: int | None, notification_type: str, url: str, body: bytes, signature: str
) -> OutboxMessage:
    """Add the notification to the caller's open transaction; it becomes due at once."""
    return outbox.enqueue(
        KIND,
        topic=notification_type,
        target=url,
        target_id=booking_id,
        body=body,
        headers={"Content-Type": CONTENT_TYPE, HEADER: signature},
    )


def send(message: outbox.Message, now: datetime) -> outbox.SendResult:
    """POST the stored bytes with their stored signature, as Cronofy would."""
    result = transport.post(message.target, message.body, dict(message.headers))
    return outbox.SendResult(
        ok=result.ok,
        status=result.status,
        response=result.body,
        error=None if result.ok else (result.error or result.describe()),
    )


def send_due(now: datetime | None = None) -> outbox.Round:
    """Send every due sandbox notification once (the `sandbox drain` command)."""
    return outbox.run_once(now, kinds=[KIND], limit=1000)


def wake() -> bool:
    return outbox.wake()


def ensure_started() -> object | None:
    return outbox.ensure_started()


def init_app(app: Flask) -> None:
    outbox.register_sender(app, KIND, send, policy=POLICY)
