"""Storing and applying Cronofy deliveries (DESIGN §2, §5). The receiver's services.

The receiver groups concurrent deliveries (batcher.GroupCommit): one write transaction
stores a whole batch and applies it (writer.write_batch), and every delivery in it is
answered once that transaction has committed, so an acknowledged delivery is never lost.
A delivery stored but not applied (applying failed, or the server died in between on an
older version) stays `pending`; `apply_pending` finishes it: at gunicorn start, and in a
sweep that each worker runs at most every SWEEP_INTERVAL seconds while deliveries come in.
Applying is idempotent: it only ever touches a pending or failed delivery, re-checked
inside the write transaction.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Connection, select, update
from sqlalchemy.exc import OperationalError

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import DELIVERY_FAILED, DELIVERY_PENDING, Delivery, utcnow
from webapp.webhooks import payload, writer
from webapp.webhooks.apply import DELIVERIES, apply_batch
from webapp.webhooks.batcher import GroupCommit, Take
from webapp.webhooks.fold import Ready
from webapp.webhooks.writer import MAX_ERROR, Incoming

log = logging.getLogger(__name__)

REPROCESSABLE = (DELIVERY_FAILED, DELIVERY_PENDING)
SWEEP_LIMIT = 10
SWEEP_AGE_SECONDS = 30.0
SWEEP_INTERVAL = 30.0
# How long a delivery waits for its batch before the receiver answers 503 (Cronofy then
# retries; a retry of a body that did get stored is a duplicate, answered 2xx).
WAIT_SECONDS = 25.0
_EXTENSION = "webhooks.receiver"
_setup_lock = threading.Lock()


class DeliveryNotFound(LookupError):
    """No delivery has that id."""


class NotReprocessable(ValueError):
    """Only failed or pending deliveries are reprocessed; applied ones are final."""


@dataclass(frozen=True)
class Stored:
    delivery_id: int
    duplicate: bool


@dataclass
class _Receiver:
    """Per app and per process: the group commit and the time of the last sweep."""

    pid: int = field(default_factory=os.getpid)
    group: GroupCommit[Incoming, str] = field(default_factory=GroupCommit)
    sweep_lock: threading.Lock = field(default_factory=threading.Lock)
    last_sweep: float = float("-inf")


def receive(body: bytes) -> str:
    """Store an authentic body durably and apply it: 'duplicate', 'applied', 'stale' or
    'failed' (unreadable, kept with its error).

    'pending' when it was stored but applying hit a database problem; a later sweep
    applies it. Raises batcher.Busy or batcher.WriteFailed when it could not be stored
    in time: the caller must not acknowledge it then.
    """
    incoming = writer.prepare(body)  # reading the body happens before any lock is taken
    timeout = float(current_app.config.get("RECEIVER_WAIT_SECONDS", WAIT_SECONDS))
    state = _receiver()
    status = state.group.submit(incoming, _write, timeout)
    _sweep_if_due(state)
    return status


def _write(take: Take[Incoming]) -> list[str]:
    written = writer.write_batch(take)
    for index, delivery_id in written.unapplied:
        written.outcomes[index] = apply_safely(delivery_id)
    return written.outcomes


def _receiver() -> _Receiver:
    extensions = current_app.extensions
    state = extensions.get(_EXTENSION)
    if state is None or state.pid != os.getpid():  # a fork's copy holds the parent's locks
        with _setup_lock:
            state = extensions.get(_EXTENSION)
            if state is None or state.pid != os.getpid():
                state = extensions[_EXTENSION] = _Receiver()
    return state


def _sweep_if_due(state: _Receiver) -> None:
    """Apply a few deliveries left pending, at most once per SWEEP_INTERVAL per worker."""
    now = time.monotonic()
    if now - state.last_sweep < SWEEP_INTERVAL or not state.sweep_lock.acquire(blocking=False):
        return
    try:
        state.last_sweep = now
        apply_pending(older_than_seconds=SWEEP_AGE_SECONDS, limit=SWEEP_LIMIT)
    except Exception:  # the sweep is housekeeping: it never costs Cronofy its answer
        db.session.rollback()
        log.exception("sweep of pending deliveries failed")
    finally:
        state.sweep_lock.release()


def store(body: bytes, received_at: datetime | None = None) -> Stored:
    """Keep the raw body durably, once, as pending: the same bytes again are a duplicate."""
    item = writer.prepare(body, received_at)
    with write_transaction():
        connection = db.session.connection()
        ids = writer.insert_new(connection, [writer.row_for(item, utcnow(), DELIVERY_PENDING)])
        if item.digest in ids:
            return Stored(ids[item.digest], duplicate=False)
        existing = connection.execute(
            select(DELIVERIES.c.id).where(DELIVERIES.c.body_sha256 == item.digest)
        ).scalar_one()
        return Stored(existing, duplicate=True)


def apply_delivery(delivery_id: int) -> str:
    """Parse and apply one pending or failed delivery; its resulting status.

    Unreadable payloads end as 'failed' with the reason on the delivery. An already applied
    or stale delivery is left alone (another worker got there first).
    """
    with write_transaction():
        connection = db.session.connection()
        row = connection.execute(
            select(DELIVERIES.c.status, DELIVERIES.c.body, DELIVERIES.c.received_at)
            .where(DELIVERIES.c.id == delivery_id)
            .with_for_update()
        ).first()
        if row is None:
            raise DeliveryNotFound(delivery_id)
        if row.status not in REPROCESSABLE:
            return row.status
        now = utcnow()
        try:
            notification = payload.parse(bytes(row.body))
        except payload.PayloadError as exc:
            error = str(exc)[:MAX_ERROR]
            _set(connection, delivery_id, status=DELIVERY_FAILED, error=error, processed_at=now)
            return DELIVERY_FAILED
        _set(
            connection,
            delivery_id,
            type=notification.type,
            triggered_at=notification.triggered_at,
            scheduling_request_id=notification.scheduling_request_id,
        )
        ready = Ready(delivery_id, row.received_at, notification)
        return apply_batch(connection, [ready], now)[delivery_id]


def apply_safely(delivery_id: int) -> str:
    """apply_delivery for callers that must not fail: the receiver and the sweeps.

    A transient database error leaves the delivery pending for the next sweep; any other
    unexpected error is recorded on the delivery as failed, so it cannot block the sweep.
    """
    try:
        return apply_delivery(delivery_id)
    except OperationalError:
        db.session.rollback()
        log.exception("delivery %s stays pending: database error", delivery_id)
        return DELIVERY_PENDING
    except Exception as exc:
        db.session.rollback()
        log.exception("delivery %s could not be applied", delivery_id)
        try:
            _mark_failed(delivery_id, f"Internal error while applying: {type(exc).__name__}")
        except Exception:
            db.session.rollback()
            log.exception("delivery %s: could not record the failure", delivery_id)
            return DELIVERY_PENDING
        return DELIVERY_FAILED


def apply_pending(older_than_seconds: float = SWEEP_AGE_SECONDS, limit: int | None = None) -> int:
    """Apply deliveries left pending (a crash between store and apply); how many were."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    query = (
        db.select(Delivery.id)
        .where(Delivery.status == DELIVERY_PENDING, Delivery.received_at <= cutoff)
        .order_by(Delivery.id)
    )
    if limit is not None:
        query = query.limit(limit)
    ids = list(db.session.execute(query).scalars())
    db.session.rollback()  # end the read so the writes below start their own transactions
    done = 0
    for delivery_id in ids:
        if apply_safely(delivery_id) != DELIVERY_PENDING:
            done += 1
    return done


def reprocess(delivery_id: int) -> str:
    """Run a failed (or pending) delivery again; its new status."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None:
        raise DeliveryNotFound(delivery_id)
    if delivery.status not in REPROCESSABLE:
        raise NotReprocessable(f"delivery {delivery_id} is already {delivery.status}")
    return apply_safely(delivery_id)


def reprocess_failed(batch: int = 100) -> dict[str, int]:
    """Run every failed delivery again, oldest first; how many ended in each status."""
    counts: dict[str, int] = {}
    after = 0
    while True:
        ids = list(
            db.session.execute(
                db.select(Delivery.id)
                .where(Delivery.status == DELIVERY_FAILED, Delivery.id > after)
                .order_by(Delivery.id)
                .limit(batch)
            ).scalars()
        )
        db.session.rollback()
        if not ids:
            return counts
        for delivery_id in ids:
            status = apply_safely(delivery_id)
            counts[status] = counts.get(status, 0) + 1
        after = ids[-1]


def _set(connection: Connection, delivery_id: int, **values: object) -> None:
    connection.execute(update(DELIVERIES).where(DELIVERIES.c.id == delivery_id).values(**values))


def _mark_failed(delivery_id: int, error: str) -> None:
    with write_transaction():
        db.session.execute(
            update(DELIVERIES)
            .where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.status.in_(REPROCESSABLE))
            .values(status=DELIVERY_FAILED, error=error[:MAX_ERROR], processed_at=utcnow())
        )
