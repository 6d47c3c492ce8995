"""The record of refused receiver hits: counts per minute and reason, never a body.

Unauthenticated requests can come in any number, so a refused hit costs no database write:
each process counts refusals in memory (per minute and reason, with the latest client
address) and writes the counts aggregated, one upsert per minute and reason, at most every
FLUSH_SECONDS from the request that notices, on the applier's sweep, when an admin opens
the event log and when the worker stops. A flood of bad signatures is then a handful of
writes a minute. Rows older than RETENTION are pruned whenever counts are written.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Connection, case, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from webapp.database import write_connection
from webapp.extensions import db
from webapp.models import RefusedDelivery, utcnow

log = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
RETENTION = timedelta(days=30)
MAX_KEYS = 10_000  # minutes x reasons held while the database cannot take them
_EXTENSION = "webhooks.refusals"
_TABLE = RefusedDelivery.__table__
_guard = threading.Lock()


@dataclass
class Tally:
    count: int
    last_at: datetime
    client_address: str


@dataclass
class RefusalCounter:
    """One per app and process."""

    pid: int = field(default_factory=os.getpid)
    lock: threading.Lock = field(default_factory=threading.Lock)
    flushing: threading.Lock = field(default_factory=threading.Lock)
    tallies: dict[tuple[datetime, str], Tally] = field(default_factory=dict)
    last_flush: float = field(default_factory=time.monotonic)

    def add(self, at: datetime, reason: str, client_address: str, count: int = 1) -> None:
        key = (at.replace(second=0, microsecond=0), reason)
        with self.lock:
            tally = self.tallies.get(key)
            if tally is None:
                if len(self.tallies) < MAX_KEYS:
                    self.tallies[key] = Tally(count, at, client_address)
            else:
                tally.count += count
                if at >= tally.last_at:
                    tally.last_at, tally.client_address = at, client_address

    def take(self) -> dict[tuple[datetime, str], Tally]:
        with self.lock:
            taken, self.tallies = self.tallies, {}
            self.last_flush = time.monotonic()
            return taken


def record(app: Flask, client_address: str | None, reason: str) -> None:
    """Count one refused hit; write the counts when FLUSH_SECONDS have passed."""
    counter = _counter(app)
    counter.add(utcnow(), reason[:200], (client_address or "unknown")[:64])
    interval = float(app.config.get("RECEIVER_REFUSALS_FLUSH_SECONDS", FLUSH_SECONDS))
    if time.monotonic() - counter.last_flush >= interval:
        flush(app)


def flush(app: Flask) -> None:
    """Write this process's counts now (a no-op when another thread is writing them)."""
    counter = _counter(app)
    if not counter.flushing.acquire(blocking=False):
        return
    try:
        tallies = counter.take()
        if not tallies:
            return
        with app.app_context():
            engine = db.engine
        try:
            with write_connection(engine) as connection:
                write_counts(connection, tallies)
        except SQLAlchemyError:  # bookkeeping: keep the counts for the next try
            log.exception("could not record %d refused deliveries", len(tallies))
            for (_minute, reason), tally in tallies.items():
                counter.add(tally.last_at, reason, tally.client_address, tally.count)
    finally:
        counter.flushing.release()


def write_counts(connection: Connection, tallies: dict[tuple[datetime, str], Tally]) -> None:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(_TABLE)
    newer = _TABLE.c.last_at < statement.excluded.last_at
    statement = statement.on_conflict_do_update(
        index_elements=["at", "reason"],
        set_={
            "count": _TABLE.c.count + statement.excluded["count"],
            "last_at": case((newer, statement.excluded.last_at), else_=_TABLE.c.last_at),
            "client_address": case(
                (newer, statement.excluded.client_address), else_=_TABLE.c.client_address
            ),
        },
    )
    rows = [
        {
            "at": at,
            "reason": reason,
            "count": tally.count,
            "last_at": tally.last_at,
            "client_address": tally.client_address,
        }
        for (at, reason), tally in sorted(tallies.items())
    ]
    connection.execute(statement, rows)
    connection.execute(delete(_TABLE).where(_TABLE.c.at < utcnow() - RETENTION))


def refused_since(hours: int = 24) -> int:
    """How many hits were refused in the last `hours` hours (as written so far)."""
    since = utcnow() - timedelta(hours=hours)
    total = db.session.execute(
        select(func.coalesce(func.sum(RefusedDelivery.count), 0)).where(
            RefusedDelivery.last_at >= since
        )
    ).scalar_one()
    return int(total)


def latest_refusals(limit: int = 20) -> list[RefusedDelivery]:
    """The newest minutes with refusals, each with its count and latest client address."""
    return list(
        db.session.execute(
            select(RefusedDelivery)
            .order_by(RefusedDelivery.last_at.desc(), RefusedDelivery.id.desc())
            .limit(limit)
        ).scalars()
    )


def _counter(app: Flask) -> RefusalCounter:
    found = app.extensions.get(_EXTENSION)
    if found is None or found.pid != os.getpid():  # never a lock from before fork
        with _guard:
            found = app.extensions.get(_EXTENSION)
            if found is None or found.pid != os.getpid():
                found = app.extensions[_EXTENSION] = RefusalCounter()
    return found
