"""Applying parsed notifications to their Scheduling Requests, a batch at a time, inside
the caller's write transaction (ingest.apply_delivery, writer.write_batch).

The rules live in fold.py (pure); this module reads and writes the rows. Upsert by
scheduling_request_id; several notifications for one request in a batch are applied in
triggered_at order, so a batch ends exactly where applying them one at a time in that order
would. SQLAlchemy Core rather than ORM objects: the receiver runs this for every delivery,
and a handful of set-wide statements per batch cost a fraction of an ORM flush per delivery.
Rows are locked and written in key order so that concurrent batches on PostgreSQL cannot
deadlock on one another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.sql.dml import Insert

from webapp.live.search import refresh_search_terms, search_fields, search_terms
from webapp.models import (
    DELIVERY_APPLIED,
    DELIVERY_STALE,
    Delivery,
    SchedulingRequest,
    TrackedLink,
)
from webapp.models.bookings import SchedulingRequestTerm
from webapp.outbound.events import emit_scheduling_request_event
from webapp.webhooks.fold import STATE, Fold, Ready, fold_group, known_terms
from webapp.webhooks.payload import Notification

COUNTED = (DELIVERY_APPLIED, DELIVERY_STALE)

REQUESTS = SchedulingRequest.__table__
DELIVERIES = Delivery.__table__
LINKS = TrackedLink.__table__
TERMS = SchedulingRequestTerm.__table__
COUNTERS = ("notification_count", "first_notified_at", "updated_at", "last_delivery_id")

# Built once: the receiver runs these for every batch.
_LINKS_FOR = select(
    LINKS.c.id, LINKS.c.correlation_id, LINKS.c.public_link_id, LINKS.c.created_by_id
).where(LINKS.c.correlation_id.in_(bindparam("correlation_ids", expanding=True)))
_LOCK = (
    select(REQUESTS)
    .where(REQUESTS.c.scheduling_request_id.in_(bindparam("srq_ids", expanding=True)))
    .order_by(REQUESTS.c.scheduling_request_id)
    .with_for_update()
)
# One statement per distinct value rather than one per row: usually a single one.
_SET_STATUS = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=bindparam("d_status"), processed_at=bindparam("d_now"), error=None)
)
_COUNTS = (
    select(
        DELIVERIES.c.scheduling_request_id,
        func.count(DELIVERIES.c.id),
        func.min(DELIVERIES.c.received_at),
    )
    .where(
        DELIVERIES.c.scheduling_request_id.in_(bindparam("srq_ids", expanding=True)),
        DELIVERIES.c.status.in_(COUNTED),
    )
    .group_by(DELIVERIES.c.scheduling_request_id)
)
_UPDATE_REQUEST = (
    update(REQUESTS)
    .where(REQUESTS.c.id == bindparam("r_pk"))
    .values({name: bindparam(f"r_{name}") for name in STATE + COUNTERS})
)
_SET_BOOKING = (
    update(LINKS)
    .where(LINKS.c.id.in_(bindparam("ids", expanding=True)))
    .values(booking_view_url=bindparam("l_url"))
)
_SET_ONE_BOOKING = (
    update(LINKS).where(LINKS.c.id == bindparam("l_id")).values(booking_view_url=bindparam("l_url"))
)
_inserts: dict[tuple[str, str], Insert] = {}


def insert_ignoring(connection: Connection, table: Table, key: str) -> Insert:
    """INSERT that skips rows whose unique `key` already exists, RETURNING id and key
    for the rows it inserted (SQLite and PostgreSQL)."""
    dialect = connection.dialect.name
    statement = _inserts.get((dialect, table.name))
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = (
            dialect_insert(table)
            .on_conflict_do_nothing(index_elements=[key])
            .returning(table.c.id, table.c[key])
        )
        _inserts[(dialect, table.name)] = statement
    return statement


def apply_batch(
    connection: Connection,
    ready: Sequence[Ready],
    now: datetime,
    links: Mapping[str, Any] | None = None,
) -> dict[int, str]:
    """Apply stored deliveries; each one's new status by delivery id ('applied' or 'stale').

    Sets their status and processed_at. Whatever the outcome the request's counters move
    (count, first notified, updated_at, last_delivery_id), because its timeline grew.
    `links`: the tracked links of the notifications' correlation IDs (find_links), when
    looked up already; else they are looked up here.
    """
    groups: dict[str, list[Ready]] = defaultdict(list)
    for item in ready:
        groups[item.notification.scheduling_request_id].append(item)
    for group in groups.values():
        group.sort(key=lambda item: (item.notification.triggered_at, item.delivery_id))
    if links is None:
        links = find_links(connection, (item.notification for item in ready))
    existing = _lock(connection, sorted(groups))
    folds = {srq: fold_group(row, groups[srq], links) for srq, row in existing.items()}
    new = [srq for srq in sorted(groups) if srq not in existing]
    if new:
        created = {srq: fold_group(None, groups[srq], links) for srq in new}
        ids = _insert_new(connection, created, groups, now)
        folds.update((srq, fold) for srq, fold in created.items() if srq in ids)
        # Another transaction created these meanwhile (PostgreSQL): apply onto its row.
        raced = _lock(connection, [srq for srq in new if srq not in ids])
        folds.update((srq, fold_group(row, groups[srq], links)) for srq, row in raced.items())
        existing.update(raced)
    statuses = {key: value for fold in folds.values() for key, value in fold.statuses.items()}
    for status, ids in _by_value(statuses).items():
        connection.execute(_SET_STATUS, {"ids": ids, "d_status": status, "d_now": now})
    _write_existing(connection, {srq: folds[srq] for srq in existing}, groups, now)
    _update_links(connection, folds)
    _index_terms(connection, folds, created=folds.keys() - existing.keys())
    # OUTBOUND EMIT (issue 12): each applied notification's outbound webhooks, Slack messages
    # and owner email are queued in this same transaction (webapp/outbound/events.py).
    for srq in sorted(groups):
        for item in groups[srq]:
            if statuses.get(item.delivery_id) == DELIVERY_APPLIED:
                emit_scheduling_request_event(item.notification.type, srq, now=now)
    return statuses


def find_links(connection: Connection, notifications: Iterable[Notification]) -> dict[str, Any]:
    """The tracked links (id, correlation_id, public_link_id, created_by_id) that the
    notifications' correlation IDs name, by correlation ID."""
    wanted = {n.correlation_id for n in notifications if n.has_metadata and n.correlation_id}
    if not wanted:
        return {}
    rows = connection.execute(_LINKS_FOR, {"correlation_ids": sorted(wanted)})
    return {row.correlation_id: row for row in rows}


def _lock(connection: Connection, srq_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not srq_ids:
        return {}
    rows = connection.execute(_LOCK, {"srq_ids": srq_ids})
    return {row.scheduling_request_id: row._asdict() for row in rows}


def _insert_new(
    connection: Connection, folds: dict[str, Fold], groups: dict[str, list[Ready]], now: datetime
) -> set[str]:
    """Create the requests this batch is the first to mention; the ones created.

    Their first notifications are all in this batch, so every one counts: no query needed.
    """
    values = []
    for srq in sorted(folds):
        group = groups[srq]
        values.append(
            {
                **folds[srq].state,
                "notification_count": len(group),
                "first_notified_at": min(item.received_at for item in group),
                "updated_at": now,
                "last_delivery_id": max(item.delivery_id for item in group),
            }
        )
    statement = insert_ignoring(connection, REQUESTS, "scheduling_request_id")
    created = {row.scheduling_request_id: row.id for row in connection.execute(statement, values)}
    for srq, pk in created.items():
        folds[srq].state["id"] = pk
    return set(created)


def _write_existing(
    connection: Connection, folds: dict[str, Fold], groups: dict[str, list[Ready]], now: datetime
) -> None:
    if not folds:
        return
    counts = {
        srq: (count, first)
        for srq, count, first in connection.execute(_COUNTS, {"srq_ids": sorted(folds)})
    }
    values = []
    for srq in sorted(folds):
        state = folds[srq].state
        count, first = counts.get(srq, (0, None))
        values.append(
            {
                "r_pk": state["id"],
                **{f"r_{name}": state[name] for name in STATE},
                "r_notification_count": count,
                "r_first_notified_at": first or state["first_notified_at"],
                "r_updated_at": now,
                "r_last_delivery_id": max(item.delivery_id for item in groups[srq]),
            }
        )
    connection.execute(_UPDATE_REQUEST, values)


def _update_links(connection: Connection, folds: dict[str, Fold]) -> None:
    wanted: dict[int, str | None] = {}
    for srq in sorted(folds):
        wanted.update(folds[srq].link_effects)
    if not wanted:
        return
    grouped = _by_value(wanted)
    if len(grouped) == 1:  # usually: one statement for the batch
        [(url, ids)] = grouped.items()
        connection.execute(_SET_BOOKING, {"ids": ids, "l_url": url})
        return
    # One statement per link, in id order: concurrent batches then lock links in one order.
    connection.execute(
        _SET_ONE_BOOKING, [{"l_id": key, "l_url": wanted[key]} for key in sorted(wanted)]
    )


def _by_value(mapping: dict[int, Any]) -> dict[Any, list[int]]:
    """{key: value} turned into {value: sorted keys}."""
    grouped: dict[Any, list[int]] = defaultdict(list)
    for key in sorted(mapping):
        grouped[mapping[key]].append(key)
    return grouped


def _index_terms(connection: Connection, folds: dict[str, Fold], created: set[str]) -> None:
    """Keep the free-text search terms (webapp/live/search.py) of every request whose
    state changed. A request created by this batch has no terms yet, so all of its terms
    go in with one statement for the batch; the others get the search's own refresh."""
    new_terms = []
    for srq in sorted(folds):
        fold = folds[srq]
        if not fold.fresh:
            continue
        pk, fields = fold.state["id"], search_fields(SimpleNamespace(**fold.state))
        if srq in created:
            terms = known_terms(fold, fields)
            if terms is None:
                terms = search_terms(fields)
            new_terms.extend((pk, term) for term in terms)
        else:
            refresh_search_terms(connection, pk, fields)
    if new_terms:
        _insert_plain(connection, TERMS, ("scheduling_request_pk", "term"), new_terms)


_plain_inserts: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}


def _insert_plain(
    connection: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """executemany an INSERT of plain values (ints and strings: no type conversion), by
    the driver itself. The receiver inserts a dozen search terms per delivery; going
    through SQLAlchemy's per-row parameter processing cost more than all else it does."""
    key = (connection.dialect.name, table.name)
    if key not in _plain_inserts:
        compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(columns))
        order = tuple(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
        _plain_inserts[key] = (compiled.string, order)
    sql, order = _plain_inserts[key]
    if order is None:
        connection.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])
    else:
        index = [columns.index(name) for name in order]
        connection.exec_driver_sql(sql, [tuple(row[i] for i in index) for row in rows])
