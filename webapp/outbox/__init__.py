"""One durable outbox for every outbound message: webhooks, Slack, email, the sandbox.

How it works (docs/architecture.md has the picture):
- A feature queues a message with `enqueue(kind, ...)` inside the transaction of the change
  that causes it: the row commits with the change or not at all. Nothing is sent inside
  that transaction, nor inside the request.
- Features register one sender per kind at init_app (`register_sender(app, "webhook",
  send)`); the outbox imports no feature.
- A worker thread per process claims due messages, calls their sender, records the attempt
  (webapp/models/outbox.py: OutboxAttempt, the delivery log) and schedules the next one on
  the kind's RetryPolicy: by default 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then
  it gives up (about a day). Senders use connect and read timeouts.
- At least once: a message is marked delivered only after its sender said so; a `kill -9`
  between the commit and the send, or in the middle of a send, leaves the row pending (or
  claimed until its claim lapses) and a worker sends it after the restart. Receivers
  deduplicate on the message id (webhook-id).
- Under gunicorn: one worker thread in each worker process (gunicorn.conf.py starts it in
  post_worker_init; a process also starts it on its first request). Several threads,
  processes or app servers are safe together: each message is claimed before it is sent,
  with `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL and a conditional UPDATE on SQLite,
  so no message is sent twice at the same time. Turn the thread off with OUTBOX_WORKER=0
  (then run `flask --app webapp outbox send` from cron, or let another server send).
- Tests: OUTBOX_WORKER is off under TESTING; call `run_once(now=...)` or `drain(app, now=...)`
  with an injected clock.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.outbox.policy import DEFAULT_POLICY, RetryPolicy
from webapp.outbox.senders import Message, SendResult, register_sender, register_tick
from webapp.outbox.store import (
    CLAIM_SECONDS,
    WAKE_FLAG,
    claim_due,
    enqueue,
    excerpt,
    hold,
    new_message_id,
    release,
    resend,
)
from webapp.outbox.worker import (
    Round,
    drain,
    ensure_started,
    run_once,
    run_ticks,
    stop,
    wake,
    worker_for,
)

__all__ = [
    "CLAIM_SECONDS",
    "DEFAULT_POLICY",
    "Message",
    "RetryPolicy",
    "Round",
    "SendResult",
    "claim_due",
    "drain",
    "enqueue",
    "ensure_started",
    "excerpt",
    "hold",
    "init_app",
    "new_message_id",
    "register_sender",
    "register_tick",
    "release",
    "resend",
    "run_once",
    "run_ticks",
    "start_in_worker",
    "stop",
    "wake",
    "worker_for",
]


def _wake_after_commit(session: Session) -> None:
    if session.info.pop(WAKE_FLAG, False) and has_app_context():
        wake(current_app._get_current_object())  # type: ignore[attr-defined]


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(WAKE_FLAG, None)


def start_in_worker(app: Any) -> None:
    """gunicorn's post_worker_init: start this worker process's outbox thread."""
    if isinstance(app, Flask):
        ensure_started(app)


def stop_in_worker(app: Any) -> None:
    """gunicorn's worker_exit: let a send in progress finish (briefly), then stop."""
    if isinstance(app, Flask):
        stop(app, timeout=5.0)


@click.group("outbox")
def outbox_group() -> None:
    """The outbox of outbound messages (webhooks, email, sandbox notifications)."""


@outbox_group.command("send")
@with_appcontext
def send_command() -> None:
    """Send every message that is due now, once, and say how it went."""
    result = run_once(limit=1000)
    click.echo(
        f"attempted {result.attempted}, delivered {result.delivered}, failed {result.failed}"
    )


def init_app(app: Flask) -> None:
    if not event.contains(Session, "after_commit", _wake_after_commit):
        event.listen(Session, "after_commit", _wake_after_commit)
        event.listen(Session, "after_rollback", _forget_after_rollback)

    @app.before_request
    def _start_worker() -> None:
        # Lazily, so `flask run` and a worker that missed post_worker_init send too.
        if app.extensions.get("webapp.outbox.worker") is None:
            ensure_started(app)

    app.cli.add_command(outbox_group)
