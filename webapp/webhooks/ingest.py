"""Storing and applying Cronofy deliveries (DESIGN §2, §5). The receiver's services.

Store first, in its own committed transaction, so an acknowledged delivery is never lost;
then apply it to its Scheduling Request in a second transaction. A crash between the two
leaves the delivery `pending`, and `apply_pending` finishes it (gunicorn start, and a small
sweep after each delivery). Applying is idempotent: it only ever touches a pending or
failed delivery, re-checked inside the write transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError, OperationalError

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import DELIVERY_FAILED, DELIVERY_PENDING, Delivery, utcnow
from webapp.webhooks import payload
from webapp.webhooks.apply import apply_notification

log = logging.getLogger(__name__)

DUPLICATE = "duplicate"
REPROCESSABLE = (DELIVERY_FAILED, DELIVERY_PENDING)
SWEEP_LIMIT = 10
SWEEP_AGE_SECONDS = 30.0
MAX_ERROR = 2000


class DeliveryNotFound(LookupError):
    """No delivery has that id."""


class NotReprocessable(ValueError):
    """Only failed or pending deliveries are reprocessed; applied ones are final."""


@dataclass(frozen=True)
class Stored:
    delivery_id: int
    duplicate: bool


def receive(body: bytes) -> str:
    """Store an authentic body, then apply it: 'duplicate', 'applied', 'stale', 'failed'.

    Returns 'pending' when storing worked but applying hit a transient database problem;
    the delivery is safe and a later sweep applies it.
    """
    stored = store(body)
    if stored.duplicate:
        return DUPLICATE
    status = apply_safely(stored.delivery_id)
    try:
        apply_pending(older_than_seconds=SWEEP_AGE_SECONDS, limit=SWEEP_LIMIT)
    except Exception:  # the sweep is housekeeping: it never costs Cronofy its answer
        db.session.rollback()
        log.exception("sweep of pending deliveries failed")
    return status


def store(body: bytes, received_at: datetime | None = None) -> Stored:
    """Keep the raw body durably, once: the same bytes again are a duplicate, not a row."""
    digest = hashlib.sha256(body).hexdigest()
    existing = _delivery_id_for(digest)
    if existing is not None:
        return Stored(existing, duplicate=True)
    head = payload.envelope(body)
    try:
        with write_transaction():
            delivery = Delivery(
                body=body,
                body_sha256=digest,
                received_at=received_at or utcnow(),
                type=head.type,
                triggered_at=head.triggered_at,
                scheduling_request_id=head.scheduling_request_id,
                status=DELIVERY_PENDING,
            )
            db.session.add(delivery)
            db.session.flush()
            delivery_id = delivery.id
    except IntegrityError:
        # Another worker stored the same body between our look-up and our insert.
        existing = _delivery_id_for(digest)
        if existing is None:
            raise
        return Stored(existing, duplicate=True)
    return Stored(delivery_id, duplicate=False)


def apply_delivery(delivery_id: int) -> str:
    """Parse and apply one pending or failed delivery; its resulting status.

    Unreadable payloads end as 'failed' with the reason on the delivery. An already applied
    or stale delivery is left alone (another worker got there first).
    """
    for attempt in range(3):
        try:
            with write_transaction():
                delivery = db.session.execute(
                    db.select(Delivery).where(Delivery.id == delivery_id).with_for_update()
                ).scalar_one_or_none()
                if delivery is None:
                    raise DeliveryNotFound(delivery_id)
                if delivery.status not in REPROCESSABLE:
                    return delivery.status
                _apply(delivery)
                return delivery.status
        except IntegrityError:
            # Two first notifications for one request raced to create it (PostgreSQL);
            # the next attempt finds the row the other transaction committed.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


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


def _apply(delivery: Delivery) -> None:
    now = utcnow()
    delivery.processed_at = now
    try:
        notification = payload.parse(bytes(delivery.body))
    except payload.PayloadError as exc:
        delivery.status = DELIVERY_FAILED
        delivery.error = str(exc)[:MAX_ERROR]
        return
    delivery.type = notification.type
    delivery.triggered_at = notification.triggered_at
    delivery.scheduling_request_id = notification.scheduling_request_id
    delivery.error = None
    apply_notification(notification, delivery, now)  # sets applied or stale


def _mark_failed(delivery_id: int, error: str) -> None:
    with write_transaction():
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is not None and delivery.status in REPROCESSABLE:
            delivery.status = DELIVERY_FAILED
            delivery.error = error[:MAX_ERROR]
            delivery.processed_at = utcnow()


def _delivery_id_for(digest: str) -> int | None:
    found = db.session.execute(
        db.select(Delivery.id).where(Delivery.body_sha256 == digest)
    ).scalar_one_or_none()
    db.session.rollback()
    return found
