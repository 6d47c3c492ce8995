"""Durable sending of sandbox notifications, never from inside the invitee's request.

A booking change stores its notification (a SandboxOutbox row) in the same transaction,
then wakes this process's sender thread, which POSTs due rows over real HTTP and retries
failures with exponential backoff (1, 2, 4, ... capped at 60 s) for about a day, as Cronofy
does. Several processes may run senders (gunicorn workers): a sender claims a row with a
conditional UPDATE before posting it, so one notification is never posted twice at once
(the receiver would dedupe a duplicate anyway, on the body's hash).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import and_, func, or_, update

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import SandboxOutbox, utcnow
from webapp.sandbox import transport
from webapp.sandbox.notifications import CONTENT_TYPE
from webapp.webhooks.signatures import HEADER

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60
RETRY_WINDOW = timedelta(hours=24)
# Longer than one POST's timeout: a row stays with its sender while that sender posts it.
CLAIM_SECONDS = 30
BATCH_SIZE = 20
IDLE_POLL_SECONDS = 10.0  # also picks up rows a crashed process left behind

_SENDER_ID = secrets.token_hex(8)
_lock = threading.Lock()


@dataclass(frozen=True)
class Round:
    """What one sending round did, and when the next row falls due (None: nothing left)."""

    attempted: int
    delivered: int
    failed: int
    next_due: datetime | None


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 1, 2, 4, ... seconds, at most 60."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def enqueue(
    *, booking_id: int | None, notification_type: str, url: str, body: bytes, signature: str
) -> SandboxOutbox:
    """Add a row to the caller's open transaction; it becomes due at once."""
    row = SandboxOutbox(
        booking_id=booking_id,
        notification_type=notification_type,
        url=url,
        body=body,
        signature=signature,
        next_attempt_at=utcnow(),
    )
    db.session.add(row)
    return row


def _pending():  # type: ignore[no-untyped-def]
    return and_(SandboxOutbox.delivered_at.is_(None), SandboxOutbox.gave_up_at.is_(None))


def _unclaimed(now: datetime):  # type: ignore[no-untyped-def]
    return or_(SandboxOutbox.claimed_until.is_(None), SandboxOutbox.claimed_until < now)


def _claim_due(now: datetime, sender: str, limit: int) -> list[tuple[int, str, bytes, str]]:
    """Claim up to `limit` due rows for `sender`; return (id, url, body, signature) of each."""
    due = (_pending(), SandboxOutbox.next_attempt_at <= now, _unclaimed(now))
    # Look first with a plain read, so an idle round never takes SQLite's write lock.
    ids = db.session.scalars(
        db.select(SandboxOutbox.id)
        .where(*due)
        .order_by(SandboxOutbox.next_attempt_at, SandboxOutbox.id)
        .limit(limit)
    ).all()
    db.session.commit()
    if not ids:
        return []
    claimed: list[tuple[int, str, bytes, str]] = []
    with write_transaction():
        for row_id in ids:
            # Conditional: another sender that got there first makes this match no row.
            result = db.session.execute(
                update(SandboxOutbox)
                .where(SandboxOutbox.id == row_id, *due)
                .values(claimed_by=sender, claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                row = db.session.get(SandboxOutbox, row_id, populate_existing=True)
                assert row is not None
                claimed.append((row.id, row.url, row.body, row.signature))
    return claimed


def _record(row_id: int, sender: str, result: transport.PostResult, now: datetime) -> None:
    with write_transaction():
        row = db.session.get(SandboxOutbox, row_id)
        if row is None or row.claimed_by != sender or row.delivered_at is not None:
            return  # our claim lapsed and another sender owns the row now
        row.attempts += 1
        row.last_status = result.status
        row.claimed_by = None
        row.claimed_until = None
        if result.ok:
            row.delivered_at = now
            row.last_error = None
            return
        row.last_error = (result.error or result.describe())[:2000]
        if now - row.created_at >= RETRY_WINDOW:
            row.gave_up_at = now
        else:
            row.next_attempt_at = now + backoff(row.attempts)


def _next_due(now: datetime) -> datetime | None:
    waiting = db.session.scalar(
        db.select(func.min(SandboxOutbox.next_attempt_at)).where(_pending(), _unclaimed(now))
    )
    held = db.session.scalar(
        db.select(func.min(SandboxOutbox.claimed_until)).where(
            _pending(), SandboxOutbox.claimed_until >= now
        )
    )
    db.session.commit()  # end the read transaction; the sender thread lives on
    candidates = [value for value in (waiting, held) if value is not None]
    return min(candidates) if candidates else None


def send_due(now: datetime | None = None, *, limit: int = BATCH_SIZE) -> Round:
    """Post every row due at `now` (default: the real clock) once. Needs an app context."""
    now = now or utcnow()
    sender = f"{_SENDER_ID}:{os.getpid()}:{threading.get_ident()}"
    delivered = failed = 0
    claimed = _claim_due(now, sender, limit)
    for row_id, url, body, signature in claimed:
        headers = {"Content-Type": CONTENT_TYPE, HEADER: signature}
        result = transport.post(url, body, headers)
        if result.ok:
            delivered += 1
        else:
            failed += 1
            log.info("sandbox notification %s to %s failed: %s", row_id, url, result.describe())
        _record(row_id, sender, result, now)
    return Round(len(claimed), delivered, failed, _next_due(now))


def drain(app: Flask, max_rounds: int = 20, now: datetime | None = None) -> list[Round]:
    """For tests and the CLI: run rounds synchronously until nothing is pending.

    Between rounds the clock jumps to the next due time, so backoff waits take no real time.
    """
    rounds: list[Round] = []
    clock = now or utcnow()
    with app.app_context():
        for _ in range(max_rounds):
            result = send_due(clock)
            rounds.append(result)
            if result.next_due is None:
                break
            clock = max(clock, result.next_due)
    return rounds


class _Sender:
    """This process's background sender for one app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self.wakeup = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="sandbox-outbox", daemon=True)
        self.thread.start()

    def alive(self) -> bool:
        # After a fork the copied object exists but its thread does not.
        return self.pid == os.getpid() and self.thread.is_alive()

    def _run(self) -> None:
        wait = 0.0
        while True:
            self.wakeup.wait(wait)
            self.wakeup.clear()
            if self.stopped:
                return
            try:
                with self.app.app_context():
                    result = send_due()
            except Exception:  # keep the thread alive: the next round may well work
                log.exception("sandbox outbox round failed")
                wait = 5.0
                continue
            if result.attempted >= BATCH_SIZE:
                wait = 0.0
            elif result.next_due is None:
                wait = IDLE_POLL_SECONDS
            else:
                seconds = (result.next_due - utcnow()).total_seconds()
                wait = min(max(seconds, 0.05), IDLE_POLL_SECONDS)


def ensure_started(app: Flask | None = None) -> _Sender | None:
    """This process's sender, started on first use (its first round runs at once, so rows
    left by a stopped server go out too). None when the background sender is off:
    SANDBOX_BACKGROUND_SENDER, off by default under TESTING, where tests call
    drain()/send_due() themselves.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("SANDBOX_BACKGROUND_SENDER", not app.testing):
        return None
    with _lock:
        sender = app.extensions.get("sandbox_outbox_sender")
        if sender is None or not sender.alive():
            sender = _Sender(app)
            app.extensions["sandbox_outbox_sender"] = sender
    return sender


def wake(app: Flask | None = None) -> bool:
    """Tell this process's sender there is work; call after the queuing transaction commits."""
    sender = ensure_started(app)
    if sender is None:
        return False
    sender.wakeup.set()
    return True


def stop(app: Flask, timeout: float = 10.0) -> None:
    """Stop this process's sender for `app` (tests; a round in progress finishes first)."""
    with _lock:
        sender = app.extensions.pop("sandbox_outbox_sender", None)
    if sender is not None and sender.alive():
        sender.stopped = True
        sender.wakeup.set()
        sender.thread.join(timeout)
