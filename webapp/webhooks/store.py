"""Every SQL statement on deliveries and Scheduling Requests, inside the caller's transaction.

SQLAlchemy Core rather than ORM objects: the receiver runs these for every delivery, and a
handful of set-wide statements per batch cost a fraction of an ORM flush per delivery.
Deliveries are inserted with one INSERT ... ON CONFLICT (body_sha256) DO NOTHING per batch
(through the driver: database.PlainInsert), so an exact duplicate needs no look-up of its
own. The write lock is the receiver's bottleneck on SQLite, so what can be worked out before
it is: a batch's new requests are folded and converted by plan(), outside the transaction,
and apply_notifications only checks that the plan still holds. Applying upserts requests by
scheduling_request_id; several notifications for one request in a batch are folded in
triggered_at order (fold.py), so a batch ends exactly where applying them one at a time in
that order would. Rows are locked and written in key order, so that concurrent batches on
PostgreSQL cannot deadlock on one another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, bindparam, func, select, update
from sqlalchemy.engine import Dialect

from webapp.database import PlainInsert
from webapp.models import (
    DELIVERY_APPLIED,
    DELIVERY_FAILED,
    DELIVERY_STALE,
    Delivery,
    SchedulingRequest,
    TrackedLink,
)
from webapp.models.search_terms import (
    insert_new_terms,
    refresh_search_terms,
    search_fields,
    search_terms,
)
from webapp.webhooks.fold import STATE, BookingRule, Fold, Ready, fold_group, known_terms
from webapp.webhooks.payload import Notification

DELIVERIES = Delivery.__table__
REQUESTS = SchedulingRequest.__table__
LINKS = TrackedLink.__table__
COUNTED = (DELIVERY_APPLIED, DELIVERY_STALE)
COUNTERS = ("notification_count", "first_notified_at", "updated_at", "last_delivery_id")
MAX_ERROR = 2000
DELIVERY_COLUMNS = (
    "body",
    "body_sha256",
    "received_at",
    "type",
    "triggered_at",
    "scheduling_request_id",
    "status",
    "error",
    "processed_at",
)
_NEW_DELIVERIES = PlainInsert(DELIVERIES, DELIVERY_COLUMNS, "body_sha256")
_NEW_REQUESTS = PlainInsert(
    REQUESTS, ("scheduling_request_id", *STATE, *COUNTERS), "scheduling_request_id"
)
_BY_HASH = _NEW_DELIVERIES.columns.index("body_sha256")

# Built once: the receiver runs these for every batch.
_STORED = select(
    DELIVERIES.c.id,
    DELIVERIES.c.body,
    DELIVERIES.c.received_at,
    DELIVERIES.c.status,
    DELIVERIES.c.type,
    DELIVERIES.c.triggered_at,
    DELIVERIES.c.scheduling_request_id,
)
_STILL = (
    select(DELIVERIES.c.id)
    .where(
        DELIVERIES.c.id.in_(bindparam("ids", expanding=True)),
        DELIVERIES.c.status.in_(bindparam("statuses", expanding=True)),
    )
    .order_by(DELIVERIES.c.id)
)
_SET_STATUS = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=bindparam("d_status"), processed_at=bindparam("d_now"), error=None)
)
_SET_FAILED = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("d_id"))
    .values(status=DELIVERY_FAILED, error=bindparam("d_error"), processed_at=bindparam("d_now"))
)
_SET_ENVELOPE = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("d_id"))
    .values(
        type=bindparam("d_type"),
        triggered_at=bindparam("d_at"),
        scheduling_request_id=bindparam("d_srq"),
    )
)
_LINKS_FOR = select(
    LINKS.c.id, LINKS.c.correlation_id, LINKS.c.public_link_id, LINKS.c.created_by_id
).where(LINKS.c.correlation_id.in_(bindparam("correlation_ids", expanding=True)))
_LOCK = (
    select(REQUESTS)
    .where(REQUESTS.c.scheduling_request_id.in_(bindparam("srq_ids", expanding=True)))
    .order_by(REQUESTS.c.scheduling_request_id)
    .with_for_update()
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
    update(LINKS).where(LINKS.c.id == bindparam("l_id")).values(booking_view_url=bindparam("l_url"))
)


# --- deliveries ----------------------------------------------------------------------------


def delivery_values(dialect: Dialect, row: dict[str, Any]) -> tuple[Any, ...]:
    """A deliveries row (every DELIVERY_COLUMNS key) as insert_deliveries takes it, worked
    out before the write lock is taken."""
    return _NEW_DELIVERIES.values(dialect, row)


def insert_deliveries(connection: Connection, rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """Insert the rows (delivery_values) whose body is not stored yet; their ids by body
    hash. In hash order, so that concurrent batches on PostgreSQL take the unique index's
    locks in one order."""
    return _NEW_DELIVERIES.run(connection, sorted(rows, key=itemgetter(_BY_HASH)))


def stored(connection: Connection, ids: Sequence[int]) -> list[Row[Any]]:
    """The deliveries with these ids (body, envelope and status), oldest first."""
    query = _STORED.where(DELIVERIES.c.id.in_(list(ids))).order_by(DELIVERIES.c.id)
    return list(connection.execute(query))


def oldest_with_status(
    connection: Connection, status: str, limit: int, after: int = 0
) -> list[Row[Any]]:
    """Up to `limit` deliveries of one status above id `after`, oldest first. A plain read:
    the write transaction that uses them checks again that they still have it."""
    query = (
        _STORED.where(DELIVERIES.c.status == status, DELIVERIES.c.id > after)
        .order_by(DELIVERIES.c.id)
        .limit(limit)
    )
    return list(connection.execute(query))


def claim(connection: Connection, ids: Sequence[int], statuses: Sequence[str]) -> list[int]:
    """Of these deliveries, the ones that still have one of `statuses`, locked for this
    transaction. On PostgreSQL rows another transaction holds are skipped: another process
    is applying them. On SQLite the transaction holds the database's write lock already."""
    query = _STILL
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = connection.execute(query, {"ids": list(ids), "statuses": list(statuses)})
    return list(found.scalars())


def mark_failed(connection: Connection, errors: Mapping[int, str], now: datetime) -> None:
    if errors:
        connection.execute(
            _SET_FAILED,
            [{"d_id": key, "d_error": errors[key][:MAX_ERROR], "d_now": now} for key in errors],
        )


def set_envelopes(connection: Connection, notifications: Mapping[int, Notification]) -> None:
    """Record what a delivery stored as unreadable turned out to say, once it reads."""
    if notifications:
        connection.execute(
            _SET_ENVELOPE,
            [
                {
                    "d_id": key,
                    "d_type": n.type,
                    "d_at": n.triggered_at,
                    "d_srq": n.scheduling_request_id,
                }
                for key, n in notifications.items()
            ],
        )


def count_with_status(connection: Connection, status: str) -> int:
    query = select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.status == status)
    return int(connection.execute(query).scalar_one())


# --- Scheduling Requests -----------------------------------------------------------------


def latest_change(connection: Connection) -> datetime | None:
    """When a Scheduling Request last changed (one index read): a cheap "anything new?"."""
    return connection.execute(select(func.max(REQUESTS.c.updated_at))).scalar()


class NewRequest(NamedTuple):
    """A request the batch is the first to mention, worked out before the write lock."""

    delivery_ids: tuple[int, ...]  # its notifications in this batch: the plan's premise
    fold: Fold
    values: tuple[Any, ...]  # its row for the driver, but for updated_at (set inside)
    terms: Sequence[str]


class Plan(NamedTuple):
    """What can be worked out before the write lock: the batch's new requests folded,
    converted for the driver and given their search terms, most of applying them.
    apply_notifications uses a new request's part only if, inside the lock, the request is
    still new, its notifications are the same and the tracked links it was folded against
    read the same; otherwise it folds that request again there."""

    links: dict[str, Any]
    new: dict[str, NewRequest]


def plan(connection: Connection, ready: Sequence[Ready], rule: BookingRule) -> Plan:
    """Read (outside any write transaction) and fold what `ready` creates; see Plan."""
    groups = _groups(ready)
    links = _find_links(connection, (item.notification for item in ready))
    query = select(REQUESTS.c.scheduling_request_id).where(
        REQUESTS.c.scheduling_request_id.in_(sorted(groups))
    )
    existing = set(connection.execute(query).scalars())
    dialect = connection.dialect
    new = {}
    for srq in sorted(groups.keys() - existing):
        group = groups[srq]
        fold = fold_group(None, group, links, rule)
        row = _new_row(fold, group, now=None)
        new[srq] = NewRequest(
            tuple(item.delivery_id for item in group),
            fold,
            _NEW_REQUESTS.values(dialect, row),
            _created_terms(fold),
        )
    return Plan(links, new)


def apply_notifications(
    connection: Connection,
    ready: Sequence[Ready],
    now: datetime,
    rule: BookingRule,
    planned: Plan | None = None,
) -> dict[int, str]:
    """Apply claimed deliveries; each one's new status by delivery id ('applied' or 'stale').

    Whatever the outcome the request's counters move (count, first notified, updated_at,
    last_delivery_id), because its timeline grew. `planned`: what plan() worked out before
    the lock, used where it still holds.
    """
    groups = _groups(ready)
    links = _find_links(connection, (item.notification for item in ready))
    existing = _lock(connection, sorted(groups))
    folds = {srq: fold_group(row, groups[srq], links, rule) for srq, row in existing.items()}
    new = [srq for srq in sorted(groups) if srq not in existing]
    prepared = _still_planned(planned, links, groups, new)
    if new:
        created = {
            srq: prepared[srq].fold
            if srq in prepared
            else fold_group(None, groups[srq], links, rule)
            for srq in new
        }
        ids = _insert_new(connection, created, groups, now, prepared)
        folds.update((srq, fold) for srq, fold in created.items() if srq in ids)
        # Another transaction created these meanwhile (PostgreSQL): apply onto its row.
        raced = _lock(connection, [srq for srq in new if srq not in ids])
        folds.update((srq, fold_group(row, groups[srq], links, rule)) for srq, row in raced.items())
        existing.update(raced)
    statuses = {key: value for fold in folds.values() for key, value in fold.statuses.items()}
    for status, ids_with in _by_value(statuses).items():
        connection.execute(_SET_STATUS, {"ids": ids_with, "d_status": status, "d_now": now})
    _write_existing(connection, {srq: folds[srq] for srq in existing}, groups, now)
    _update_links(connection, folds)
    created = {srq: prepared[srq].terms if srq in prepared else None for srq in new}
    _index_terms(connection, folds, {srq: created[srq] for srq in folds.keys() - existing.keys()})
    return statuses


def _groups(ready: Sequence[Ready]) -> dict[str, list[Ready]]:
    """The deliveries by request, each request's in the order they apply in."""
    groups: dict[str, list[Ready]] = defaultdict(list)
    for item in ready:
        groups[item.notification.scheduling_request_id].append(item)
    for group in groups.values():
        group.sort(key=lambda item: (item.notification.triggered_at, item.delivery_id))
    return groups


def _still_planned(
    planned: Plan | None, links: dict[str, Any], groups: dict[str, list[Ready]], new: list[str]
) -> dict[str, NewRequest]:
    """The planned new requests whose premises hold inside the transaction."""
    if not new or planned is None or planned.links != links:
        return {}
    return {
        srq: planned.new[srq]
        for srq in new
        if srq in planned.new
        and planned.new[srq].delivery_ids == tuple(item.delivery_id for item in groups[srq])
    }


def _find_links(connection: Connection, notifications: Iterable[Notification]) -> dict[str, Any]:
    """The tracked links the notifications' correlation IDs name, by correlation ID."""
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


def _new_row(fold: Fold, group: list[Ready], now: datetime | None) -> dict[str, Any]:
    """A request's first row. Its first notifications are all in this batch, so every one
    counts: no query needed."""
    return {
        **fold.state,
        "notification_count": len(group),
        "first_notified_at": min(item.received_at for item in group),
        "updated_at": now,
        "last_delivery_id": max(item.delivery_id for item in group),
    }


def _insert_new(
    connection: Connection,
    folds: dict[str, Fold],
    groups: dict[str, list[Ready]],
    now: datetime,
    prepared: Mapping[str, NewRequest],
) -> set[str]:
    """Create the requests this batch is the first to mention; the ones created."""
    dialect = connection.dialect
    values = [
        _NEW_REQUESTS.replaced(dialect, prepared[srq].values, "updated_at", now)
        if srq in prepared
        else _NEW_REQUESTS.values(dialect, _new_row(folds[srq], groups[srq], now))
        for srq in sorted(folds)
    ]
    created = _NEW_REQUESTS.run(connection, values)
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
    """What each tracked link learnt about its booking; one statement per link, in id order,
    so that concurrent batches lock links in one order."""
    wanted: dict[int, str | None] = {}
    for srq in sorted(folds):
        wanted.update(folds[srq].link_effects)
    if wanted:
        connection.execute(
            _SET_BOOKING, [{"l_id": key, "l_url": wanted[key]} for key in sorted(wanted)]
        )


def _by_value(mapping: dict[int, Any]) -> dict[Any, list[int]]:
    """{key: value} turned into {value: sorted keys}: one statement per distinct value."""
    grouped: dict[Any, list[int]] = defaultdict(list)
    for key in sorted(mapping):
        grouped[mapping[key]].append(key)
    return grouped


def _created_terms(fold: Fold) -> Sequence[str]:
    """The search terms of a request created with this fold."""
    fields = search_fields(SimpleNamespace(**fold.state))
    terms = known_terms(fold, fields)
    return search_terms(fields) if terms is None else terms


def _index_terms(
    connection: Connection, folds: dict[str, Fold], created: Mapping[str, Sequence[str] | None]
) -> None:
    """Keep the search terms of every request whose state changed. A request created by
    this batch (`created`: its terms, when planned) has none yet, so all of its terms go in
    with one statement for the batch; the others get only the difference written."""
    new_terms = []
    for srq in sorted(folds):
        fold = folds[srq]
        if not fold.fresh:
            continue
        if srq in created:
            terms = created[srq]
            if terms is None:
                terms = _created_terms(fold)
            new_terms.extend((fold.state["id"], term) for term in terms)
        else:
            fields = search_fields(SimpleNamespace(**fold.state))
            refresh_search_terms(connection, fold.state["id"], fields)
    insert_new_terms(connection, new_terms)
