"""Applying stored deliveries to their Scheduling Requests: the one path every caller takes.

The receiver acknowledges a delivery once it is stored (pending); from there this module
applies it, in batches: the applier thread after each stored batch (applier.py), the
request thread itself under TESTING (receiver.py), `flask deliveries apply-pending`, the
event log's "reprocess" (a batch of one) and gunicorn's start. A batch is read and parsed
outside any lock, and the requests it creates are folded, converted and given their search
terms there too (store.plan); then one write transaction claims what is still pending (or
failed, when reprocessing), so two processes never apply one delivery twice, and applies it
(store.py), using the plan where its premises still hold.
When applying a batch raises something other than a database error (a bug, a payload no
test foresaw), its deliveries are applied one at a time, and one that still fails is
recorded as failed with the reason: one bad delivery never holds the others back.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import Engine, Row
from sqlalchemy.exc import OperationalError

from webapp import outbox, wakeups
from webapp.database import write_connection
from webapp.extensions import db
from webapp.models import DELIVERY_FAILED, DELIVERY_PENDING, utcnow
from webapp.webhooks import announce, payload, store
from webapp.webhooks.fold import BookingRule, Ready, notification_terms
from webapp.writeturns import writers_in_turn

log = logging.getLogger(__name__)

BATCH = 500
REPROCESSABLE = (DELIVERY_FAILED, DELIVERY_PENDING)


class DeliveryNotFound(LookupError):
    """No delivery has that id."""


class NotReprocessable(ValueError):
    """Only failed or pending deliveries are reprocessed; applied ones are final."""


@dataclass(frozen=True)
class Inbox:
    """What applying needs from the app: its engine, the booking-page rule, and the app
    itself for announcing what was applied (announce.py; None: nothing is announced)."""

    engine: Engine
    rule: BookingRule
    app: Flask | None = None

    @classmethod
    def for_app(cls, app: Flask) -> Inbox:
        with app.app_context():
            engine = db.engine
        config = app.config
        if not config.get("WEBAPP_SANDBOX"):
            return cls(engine, BookingRule(), app)
        base = config.get("PUBLIC_BASE_URL")
        if base:
            parts = urlsplit(str(base))
            origin = f"{parts.scheme}://{parts.netloc}"
            return cls(engine, BookingRule(sandbox_origin=origin), app)
        return cls(engine, BookingRule(sandbox_loopback=True), app)


def current_inbox() -> Inbox:
    """The current app's Inbox (inside an app context: the CLI, the event log)."""
    return Inbox.for_app(current_app._get_current_object())  # type: ignore[attr-defined]


def apply_pending(
    inbox: Inbox, limit: int = BATCH, known: Mapping[int, Ready] | None = None
) -> dict[int, str]:
    """Apply one batch of the oldest pending deliveries, whoever stored them; each one's
    new status by id. `known`: deliveries already read (by the process that stored them),
    which need not be read again. Fewer than `limit` results: none were left (or another
    process holds the rest). Raises OperationalError when the database cannot take the
    batch: it stays pending.
    """
    with inbox.engine.connect() as connection:
        rows = store.oldest_with_status(connection, DELIVERY_PENDING, limit)
    if not rows:
        return {}
    return apply_batch(inbox, read_rows(rows, known or {}), (DELIVERY_PENDING,))


def drain(inbox: Inbox, limit: int = BATCH) -> Counter[str]:
    """Apply pending deliveries until none are left; how many ended in each status."""
    counts: Counter[str] = Counter()
    while True:
        done = apply_pending(inbox, limit)
        counts.update(done.values())
        if len(done) < limit:
            return counts


def reprocess(inbox: Inbox, delivery_id: int) -> str:
    """Read and apply a failed (or pending) delivery again, as a batch of one; its status."""
    with inbox.engine.connect() as connection:
        rows = store.stored(connection, [delivery_id])
    if not rows:
        raise DeliveryNotFound(delivery_id)
    if rows[0].status not in REPROCESSABLE:
        raise NotReprocessable(f"delivery {delivery_id} is already {rows[0].status}")
    outcome = apply_rows(inbox, rows, REPROCESSABLE)
    if delivery_id in outcome:
        return outcome[delivery_id]
    with inbox.engine.connect() as connection:  # another process got there first
        return str(store.stored(connection, [delivery_id])[0].status)


def reprocess_failed(inbox: Inbox, limit: int = 100) -> Counter[str]:
    """Run every failed delivery again, oldest first; how many ended in each status."""
    counts: Counter[str] = Counter()
    after = 0
    while True:
        with inbox.engine.connect() as connection:
            rows = store.oldest_with_status(connection, DELIVERY_FAILED, limit, after)
        if not rows:
            return counts
        counts.update(apply_rows(inbox, rows, (DELIVERY_FAILED,)).values())
        after = rows[-1].id


@dataclass(frozen=True)
class Batch:
    """Stored deliveries, read: those that are notifications, ready to apply, and why each
    of the others is not one. `was_failed`: stored as failed, so their envelope (type,
    triggered_at, request id) is recorded again once they read."""

    ready: list[Ready] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    was_failed: frozenset[int] = frozenset()

    @property
    def ids(self) -> list[int]:
        return sorted([item.delivery_id for item in self.ready] + list(self.errors))

    def one_by_one(self) -> list[Batch]:
        singles = [Batch([item], {}, self.was_failed) for item in self.ready]
        return singles + [Batch([], {key: e}, self.was_failed) for key, e in self.errors.items()]


def read_rows(rows: Sequence[Row[Any]], known: Mapping[int, Ready] | None = None) -> Batch:
    """Read stored bodies as notifications (outside any lock: it is the costly part), but
    for those already `known`."""
    ready: list[Ready] = []
    errors: dict[int, str] = {}
    for row in rows:
        if known and row.id in known:
            ready.append(known[row.id])
            continue
        try:
            notification = payload.parse(bytes(row.body))
        except payload.PayloadError as exc:
            errors[row.id] = str(exc)
            continue
        ready.append(Ready(row.id, row.received_at, notification))
    failed = frozenset(row.id for row in rows if row.status == DELIVERY_FAILED)
    return Batch(ready, errors, failed)


def apply_rows(inbox: Inbox, rows: Sequence[Row[Any]], statuses: Sequence[str]) -> dict[int, str]:
    """Read and apply these stored deliveries: those that still have one of `statuses`."""
    return apply_batch(inbox, read_rows(rows), statuses)


def apply_batch(
    inbox: Inbox, batch: Batch, statuses: Sequence[str] = (DELIVERY_PENDING,)
) -> dict[int, str]:
    """Apply a read batch: claim what still has one of `statuses`, then apply it; each
    claimed delivery's new status by id."""
    ready = [
        item
        if item.terms is not None
        else replace(item, terms=notification_terms(item.notification))
        for item in batch.ready
    ]
    batch = Batch(ready, batch.errors, batch.was_failed)
    try:
        with inbox.engine.connect() as connection:  # a read, before the write lock
            planned = store.plan(connection, ready, inbox.rule)
        outcome, announced = _apply(inbox, batch, statuses, planned)
    except OperationalError:
        raise
    except Exception as exc:
        if len(batch.ids) == 1:
            [delivery_id] = batch.ids
            log.exception("delivery %s could not be applied", delivery_id)
            error = f"Internal error while applying: {type(exc).__name__}"
            return _record_failure(inbox, delivery_id, error, statuses)
        log.exception("applying a batch of %d deliveries failed; one at a time now", len(batch.ids))
        outcome = {}
        for single in batch.one_by_one():
            outcome.update(apply_batch(inbox, single, statuses))
        return outcome
    if outcome:
        wakeups.notify()  # this process's live streams look at once
    if announced and inbox.app is not None:
        outbox.wake(inbox.app)  # committed: this process's outbox sends them now
    return outcome


def _apply(
    inbox: Inbox, batch: Batch, statuses: Sequence[str], planned: store.Plan
) -> tuple[dict[int, str], int]:
    """Claim and apply in one write transaction, with what was planned before it; the
    statuses, and how many outbound messages announce what was applied (queued in the
    same transaction)."""
    with write_connection(inbox.engine, writers_in_turn(inbox.engine.url)) as connection:
        claimed = set(store.claim(connection, batch.ids, statuses))
        now = utcnow()
        failed = {key: error for key, error in batch.errors.items() if key in claimed}
        store.mark_failed(connection, failed, now)
        ready = [item for item in batch.ready if item.delivery_id in claimed]
        store.set_envelopes(
            connection,
            {i.delivery_id: i.notification for i in ready if i.delivery_id in batch.was_failed},
        )
        outcome = dict.fromkeys(failed, DELIVERY_FAILED)
        announced = 0
        if ready:
            outcome.update(store.apply_notifications(connection, ready, now, inbox.rule, planned))
            if inbox.app is not None:
                applied = announce.applied_in_order(ready, outcome)
                announced = announce.announce(inbox.app, connection, applied, now)
        return outcome, announced


def _record_failure(
    inbox: Inbox, delivery_id: int, error: str, statuses: Sequence[str]
) -> dict[int, str]:
    with write_connection(inbox.engine, writers_in_turn(inbox.engine.url)) as connection:
        if store.claim(connection, [delivery_id], statuses):
            store.mark_failed(connection, {delivery_id: error}, utcnow())
            return {delivery_id: DELIVERY_FAILED}
    return {}
