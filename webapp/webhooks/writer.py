"""Storing a batch of authentic deliveries and applying them, in one write transaction.

The receiver's hot path (DESIGN §2, §5). Reading a body (its hash, its JSON) happens in the
request thread before any lock is taken (`prepare`); `write_batch` then costs a few
statements per batch: one INSERT ... ON CONFLICT (body_sha256) DO NOTHING for every body,
so an exact duplicate needs no look-up of its own, and apply.apply_batch for the new ones.
The batch is acknowledged only once that transaction has committed, so an acknowledged
delivery is durable; if applying fails, the batch is stored again without applying, and
the deliveries wait, pending, for the caller to apply them one at a time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import DELIVERY_FAILED, DELIVERY_PENDING, utcnow
from webapp.webhooks import payload
from webapp.webhooks.apply import DELIVERIES, apply_batch, insert_ignoring
from webapp.webhooks.fold import Ready, notification_terms
from webapp.webhooks.payload import Notification
from webapp.webhooks.turns import writers_in_turn

log = logging.getLogger(__name__)

DUPLICATE = "duplicate"
MAX_ERROR = 2000
ATTEMPTS = 2  # a deadlock or serialisation failure on PostgreSQL is worth one more try


@dataclass(frozen=True)
class Incoming:
    """An authentic body, read: its hash, its notification or why there is none, and
    what else can be worked out before the write lock: its row and its search terms."""

    body: bytes
    digest: str
    received_at: datetime
    notification: Notification | None
    error: str | None = None
    row: dict[str, object] = field(default_factory=dict)
    terms: tuple[str, ...] | None = None


@dataclass
class Written:
    """Each item's outcome, in order, and the deliveries stored but left to apply."""

    outcomes: list[str]
    unapplied: list[tuple[int, int]]  # (index in the batch, delivery id)


def prepare(body: bytes, received_at: datetime | None = None) -> Incoming:
    """Hash and read a body; never raises for what the body says."""
    digest = hashlib.sha256(body).hexdigest()
    try:
        notification, error = payload.parse(body), None
    except payload.PayloadError as exc:
        notification, error = None, str(exc)[:MAX_ERROR]
    item = Incoming(body, digest, received_at or utcnow(), notification, error)
    terms = notification_terms(notification) if notification is not None else None
    return replace(item, row=row_for(item, item.received_at), terms=terms)


def row_for(item: Incoming, now: datetime, status: str | None = None) -> dict[str, object]:
    """The deliveries row for an item: failed with its error when it cannot be read,
    else `status` (pending until applied)."""
    notification = item.notification
    head = notification or payload.envelope(item.body)  # what is readable of a bad body
    failed = notification is None and status is None
    return {
        "body": item.body,
        "body_sha256": item.digest,
        "received_at": item.received_at,
        "type": head.type,
        "triggered_at": head.triggered_at,
        "scheduling_request_id": head.scheduling_request_id,
        "status": DELIVERY_FAILED if failed else (status or DELIVERY_PENDING),
        "error": item.error if failed else None,
        "processed_at": now if failed else None,
    }


def insert_new(connection: Connection, rows: list[dict[str, object]]) -> dict[str, int]:
    """Insert the rows whose body is not stored yet; their ids by body hash.

    Rows go in hash order, so concurrent batches on PostgreSQL take the unique index's
    locks in one order and cannot deadlock.
    """
    statement = insert_ignoring(connection, DELIVERIES, "body_sha256")
    ordered = sorted(rows, key=lambda row: str(row["body_sha256"]))
    return {digest: key for key, digest in connection.execute(statement, ordered)}


def write_batch(take: Callable[[], list[Incoming]]) -> Written:
    """Store every item at most once and apply the new ones, in one committed transaction.

    `take()` gives the batch's items; it is called once this process holds the write
    lock, so the batch holds everything that arrived meanwhile. Outcomes, one per item:
    'duplicate' (the same bytes are stored already, or earlier in this batch), 'failed'
    (unreadable, stored with its error), 'applied' or 'stale', or 'pending' for the
    `unapplied` ones. Raises when nothing could be stored.
    """
    for attempt in range(ATTEMPTS):
        try:
            with writers_in_turn(db.engine.url):
                return _write_once(take, apply=True)
        except OperationalError as exc:
            if attempt == ATTEMPTS - 1:
                log.exception("storing a batch of %d deliveries failed", len(take()))
                raise
            log.warning("storing a batch of deliveries failed (%s); trying again", exc)
        except Exception:
            # Store them all the same and let the caller apply them one by one, so that
            # one bad delivery cannot keep the others from their state.
            log.exception("applying a batch of deliveries failed; storing it unapplied")
            with writers_in_turn(db.engine.url):
                return _write_once(take, apply=False)
    raise AssertionError("unreachable")


def _write_once(take: Callable[[], list[Incoming]], apply: bool) -> Written:
    with write_transaction():
        items = take()
        now = utcnow()
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            first.setdefault(item.digest, index)
        outcomes = [DUPLICATE] * len(items)
        connection = db.session.connection()
        ids = insert_new(connection, [items[index].row for index in first.values()])
        ready = []
        for digest, delivery_id in ids.items():
            index = first[digest]
            notification = items[index].notification
            if notification is None:
                outcomes[index] = DELIVERY_FAILED
            else:
                outcomes[index] = DELIVERY_PENDING
                item = items[index]
                ready.append(
                    (index, Ready(delivery_id, item.received_at, notification, item.terms))
                )
        if not (apply and ready):
            return Written(outcomes, [(index, entry.delivery_id) for index, entry in ready])
        statuses = apply_batch(connection, [entry for _, entry in ready], now)
        for index, entry in ready:
            outcomes[index] = statuses[entry.delivery_id]
        return Written(outcomes, [])
