"""Turning parsed notifications into Scheduling Request state, a batch at a time, inside the
caller's write transaction (ingest.apply_delivery, writer.write_batch).

Rules (DESIGN §2, §5): upsert by scheduling_request_id; state only moves forward in
triggered_at, so an older notification arriving late is recorded as `stale` but does not
roll the row back; the correlation ID ties the request to its tracked link, and unmatched
or missing IDs are kept. Several notifications for one request in a batch are applied in
triggered_at order, so a batch ends exactly where applying them one at a time in that
order would.

SQLAlchemy Core rather than ORM objects: the receiver runs this for every delivery, and a
handful of set-wide statements per batch cost a fraction of an ORM flush per delivery.
Rows are locked and written in key order so that concurrent batches on PostgreSQL cannot
deadlock on one another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

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
from webapp.webhooks.payload import Notification

COUNTED = (DELIVERY_APPLIED, DELIVERY_STALE)
# A booking in one of these states no longer stands, so the invitee may book again.
ENDED_WORDS = ("decline", "cancel")

REQUESTS = SchedulingRequest.__table__
DELIVERIES = Delivery.__table__
LINKS = TrackedLink.__table__
TERMS = SchedulingRequestTerm.__table__
# Everything a notification decides; the counters are kept apart (see _write_existing).
STATE = (
    "status",
    "last_triggered_at",
    "summary",
    "recipients",
    "duration_minutes",
    "slot_selection",
    "dashboard_url",
    "recipient_operations",
    "event_start",
    "event_end",
    "utm",
    "captured_data",
    "correlation_id",
    "tracked_link_id",
    "public_link_id",
    "owner_id",
)
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
_inserts: dict[tuple[str, str], Insert] = {}


@dataclass(frozen=True)
class Ready:
    """A stored, not yet applied delivery and the notification read from its body.

    `terms`: the search terms of the notification's own searchable fields, when already
    worked out (see notification_terms), so that they need not be inside the transaction.
    """

    delivery_id: int
    received_at: datetime
    notification: Notification
    terms: tuple[str, ...] | None = None


@dataclass
class _Fold:
    """One request's state after its notifications in this batch, and what they did."""

    state: dict[str, Any]
    statuses: dict[int, str] = field(default_factory=dict)
    link_effects: list[tuple[int, str | None]] = field(default_factory=list)
    fresh: bool = False  # at least one notification's state was taken
    last_fresh: Ready | None = None


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
    folds = {srq: _fold(row, groups[srq], links) for srq, row in existing.items()}
    new = [srq for srq in sorted(groups) if srq not in existing]
    if new:
        created = {srq: _fold(None, groups[srq], links) for srq in new}
        ids = _insert_new(connection, created, groups, now)
        folds.update((srq, fold) for srq, fold in created.items() if srq in ids)
        # Another transaction created these meanwhile (PostgreSQL): apply onto its row.
        raced = _lock(connection, [srq for srq in new if srq not in ids])
        folds.update((srq, _fold(row, groups[srq], links)) for srq, row in raced.items())
        existing.update(raced)
    statuses = {key: value for fold in folds.values() for key, value in fold.statuses.items()}
    for status, ids in _by_value(statuses).items():
        connection.execute(_SET_STATUS, {"ids": ids, "d_status": status, "d_now": now})
    _write_existing(connection, {srq: folds[srq] for srq in existing}, groups, now)
    _update_links(connection, folds)
    _index_terms(connection, folds, created=folds.keys() - existing.keys())
    return statuses


def _fold(row: dict[str, Any] | None, group: list[Ready], links: Mapping[str, Any]) -> _Fold:
    fold = _Fold(state=dict(row) if row else _blank(group[0].notification))
    state = fold.state
    for item in group:
        notification = item.notification
        last = state["last_triggered_at"]
        fresh = last is None or notification.triggered_at >= last
        if fresh:
            _take_state(state, notification, links)
            fold.fresh, fold.last_fresh = True, item
            if (effect := _booking_effect(state)) is not None:
                fold.link_effects.append(effect)
        fold.statuses[item.delivery_id] = DELIVERY_APPLIED if fresh else DELIVERY_STALE
    return fold


def _blank(notification: Notification) -> dict[str, Any]:
    state: dict[str, Any] = dict.fromkeys(STATE)
    state.update(recipients=[], recipient_operations={}, captured_data={}, utm={})
    state["scheduling_request_id"] = notification.scheduling_request_id
    return state


def _take_state(
    state: dict[str, Any], notification: Notification, links: Mapping[str, Any]
) -> None:
    state.update(
        status=notification.status,
        last_triggered_at=notification.triggered_at,
        summary=notification.summary,
        recipients=notification.recipients,
        duration_minutes=notification.duration_minutes,
        slot_selection=notification.slot_selection,
        dashboard_url=notification.dashboard_url,
        recipient_operations=notification.recipient_operations,
        event_start=notification.event_start,
        event_end=notification.event_end,
    )
    # A notification without any scheduler metadata says nothing about the booking link,
    # so it keeps the tie (and answers) that earlier notifications established.
    if not notification.has_metadata:
        return
    link = links.get(notification.correlation_id) if notification.correlation_id else None
    state.update(
        utm=notification.utm,
        captured_data=notification.captured_data,
        correlation_id=notification.correlation_id,
        tracked_link_id=link.id if link else None,
        public_link_id=link.public_link_id if link else None,
        owner_id=link.created_by_id if link else None,
    )


def _booking_effect(state: dict[str, Any]) -> tuple[int, str | None] | None:
    """What the tracked link learns about its booking (the redirect sends later clicks
    there): (link id, view URL or None once the booking has ended), or None for nothing."""
    if state["tracked_link_id"] is None:
        return None
    status = (state["status"] or "").lower()
    if any(word in status for word in ENDED_WORDS):
        return state["tracked_link_id"], None
    view_url = (state["recipient_operations"] or {}).get("view_url")
    if is_web_url(view_url):
        return state["tracked_link_id"], view_url
    return None


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
    connection: Connection, folds: dict[str, _Fold], groups: dict[str, list[Ready]], now: datetime
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
    connection: Connection, folds: dict[str, _Fold], groups: dict[str, list[Ready]], now: datetime
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


def _update_links(connection: Connection, folds: dict[str, _Fold]) -> None:
    wanted: dict[int, str | None] = {}
    for srq in sorted(folds):
        wanted.update(folds[srq].link_effects)
    for url, ids in _by_value(wanted).items():
        connection.execute(_SET_BOOKING, {"ids": ids, "l_url": url})


def notification_terms(notification: Notification) -> tuple[str, ...]:
    """The search terms a request gets from this notification's own searchable fields."""
    return tuple(search_terms(search_fields(notification)))


def _known_terms(fold: _Fold, fields: Mapping[str, Any]) -> Sequence[str] | None:
    """The terms worked out with the last applied notification, if the request's final
    fields are that notification's own (they are unless it carried no correlation ID of
    its own): then they need not be worked out again inside the transaction."""
    last = fold.last_fresh
    if last is None or last.terms is None:
        return None
    if fields != search_fields(last.notification):
        return None
    return last.terms


def _by_value(mapping: dict[int, Any]) -> dict[Any, list[int]]:
    """{key: value} turned into {value: sorted keys}."""
    grouped: dict[Any, list[int]] = defaultdict(list)
    for key in sorted(mapping):
        grouped[mapping[key]].append(key)
    return grouped


def _index_terms(connection: Connection, folds: dict[str, _Fold], created: set[str]) -> None:
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
            terms = _known_terms(fold, fields)
            if terms is None:
                terms = search_terms(fields)
            new_terms.extend({"scheduling_request_pk": pk, "term": term} for term in terms)
        else:
            refresh_search_terms(connection, pk, fields)
    if new_terms:
        connection.execute(insert(TERMS), new_terms)


def is_web_url(value: object) -> bool:
    """Only an absolute http(s) URL may become a redirect target (never javascript: etc.).

    http is allowed because the sandbox's pages are served over plain http on a laptop.
    """
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"https", "http"} and bool(parts.netloc) and "\\" not in value
