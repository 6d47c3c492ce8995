"""The receiver's service: keep an authentic delivery durably, then acknowledge it.

`receive(body)` hashes and reads the body in the request thread, before any lock is taken,
then hands it to this process's group commit (webapp/groupcommit.py): one INSERT ... ON
CONFLICT (body_sha256) DO NOTHING per batch, through the driver (database.PlainInsert, its
values converted in the request thread: the write lock is held only for the statement and
the commit), committed before any delivery of the
batch is answered, so an acknowledged delivery is never lost. The same bytes again are a
duplicate: the unique hash decides, without a look-up. An authentic body that cannot be
read is stored as failed, with the reason, for an admin to see and reprocess.

Applying stored deliveries to their Scheduling Requests happens right after, off the
request: after the batch's commit the writer rings the applier process (applier.py), or,
when none answers, hands the batch to this process's applier thread. With
RECEIVER_APPLY_INLINE (the default under TESTING) the request thread applies them itself
right after the commit instead, so that a test sees the applied state when the answer comes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError

from webapp.database import write_connection
from webapp.extensions import db
from webapp.groupcommit import GroupCommit, Take
from webapp.models import DELIVERY_FAILED, DELIVERY_PENDING, utcnow
from webapp.webhooks import applier, payload, processing, store
from webapp.webhooks.fold import Ready
from webapp.writeturns import writers_in_turn

log = logging.getLogger(__name__)

STORED, DUPLICATE, FAILED = "stored", "duplicate", "failed"
# How long a delivery may wait for its batch before the answer is 503 + Retry-After (Cronofy
# retries; a retry of a body that did get stored after all is a duplicate, answered 2xx).
WAIT_SECONDS = 8.0
ATTEMPTS = 2  # a deadlock or serialisation failure on PostgreSQL is worth one more try
_EXTENSION = "webhooks.receiver"
_guard = threading.Lock()


@dataclass(frozen=True)
class Incoming:
    """A body read and ready to store: its deliveries row as the driver takes it (failed,
    with the reason, when the body cannot be read as a notification)."""

    digest: str
    received_at: datetime
    values: tuple[Any, ...]  # store.delivery_values
    notification: payload.Notification | None  # None: unreadable, stored as failed


def read(body: bytes, received_at: datetime, dialect: Dialect) -> Incoming:
    """Hash and read a body, and convert its row for the driver; never raises for what
    the body says. All of it happens in the request thread, before any lock is taken."""
    row, notification = delivery_row(body, received_at)
    values = store.delivery_values(dialect, row)
    return Incoming(row["body_sha256"], received_at, values, notification)


def delivery_row(
    body: bytes, received_at: datetime
) -> tuple[dict[str, Any], payload.Notification | None]:
    """A body's deliveries row (every store.DELIVERY_COLUMNS key), and the notification
    it reads as (None: unreadable, so the row is failed, with the reason)."""
    notification: payload.Notification | None
    try:
        head: payload.Envelope | payload.Notification = payload.parse(body)
        notification, status, error = head, DELIVERY_PENDING, None
    except payload.PayloadError as exc:
        head = payload.envelope(body)  # what is readable of a bad body
        notification, status, error = None, DELIVERY_FAILED, str(exc)[: store.MAX_ERROR]
    row = {
        "body": body,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "received_at": received_at,
        "type": head.type,
        "triggered_at": head.triggered_at,
        "scheduling_request_id": head.scheduling_request_id,
        "status": status,
        "error": error,
        "processed_at": received_at if error else None,
    }
    return row, notification


class Receiver:
    """One per app and process: the group commit that stores deliveries."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.app = app
        self.pid = os.getpid()
        self.inline = bool(app.config.get("RECEIVER_APPLY_INLINE", app.testing))
        self.wait = float(app.config.get("RECEIVER_WAIT_SECONDS", WAIT_SECONDS))
        self.group: GroupCommit[Incoming, str] = GroupCommit(self._write, "receiver")

    def _write(self, take: Take[Incoming]) -> list[str]:
        for attempt in range(ATTEMPTS):
            try:
                with write_connection(self.engine, writers_in_turn(self.engine.url)) as connection:
                    items = take()
                    first: dict[str, int] = {}
                    for index, item in enumerate(items):
                        first.setdefault(item.digest, index)
                    ids = store.insert_deliveries(
                        connection, [items[index].values for index in first.values()]
                    )
                break
            except OperationalError as exc:
                if attempt == ATTEMPTS - 1:
                    raise
                log.warning("storing a batch of deliveries failed (%s); trying again", exc)
        outcomes = [DUPLICATE] * len(items)
        stored = []
        for digest, delivery_id in ids.items():
            item = items[first[digest]]
            if item.notification is None:
                outcomes[first[digest]] = FAILED
            else:
                outcomes[first[digest]] = STORED
                stored.append(Ready(delivery_id, item.received_at, item.notification))
        if stored and not self.inline:
            try:  # the applier process applies them (or, without one, this process's applier)
                applier.applier(self.app).stored(stored)
            except Exception:  # stored already: the answer must not change; a sweep applies it
                log.exception("could not hand deliveries to the applier")
        return outcomes


def receive(body: bytes) -> str:
    """Store an authentic body durably: 'stored', 'duplicate' or 'failed' (unreadable, kept
    with its error). Raises groupcommit.Busy or groupcommit.WriteFailed when it could not
    be stored in time: the caller must not acknowledge it then."""
    receiver = receiver_for(current_app._get_current_object())  # type: ignore[attr-defined]
    incoming = read(body, utcnow(), receiver.engine.dialect)
    status = receiver.group.submit(incoming, receiver.wait)
    if receiver.inline and status != FAILED:  # a duplicate's first copy may be pending
        _apply_now(receiver)
    return status


def _apply_now(receiver: Receiver) -> None:
    """Apply in the request thread (RECEIVER_APPLY_INLINE). The delivery is stored already:
    a failure here leaves it pending for the next sweep and never changes the answer."""
    try:
        processing.drain(processing.Inbox.for_app(receiver.app))
    except Exception:
        log.exception("applying deliveries in the request failed; they stay pending")


def receiver_for(app: Flask) -> Receiver:
    """This process's receiver for the app (its group commit is made on first use)."""
    found = app.extensions.get(_EXTENSION)
    if found is None or found.pid != os.getpid():  # a fork's copy holds the parent's thread
        with _guard:
            found = app.extensions.get(_EXTENSION)
            if found is None or found.pid != os.getpid():
                found = app.extensions[_EXTENSION] = Receiver(app)
    return found
