"""The purge: what RETENTION_DAYS removes, in batches, and the audit entry that says so.

Removed, when older than the window (docs/architecture.md, "Retention and erasure"):
- payloads: the raw body of each applied (or stale) delivery older than the window is
  emptied and the delivery marked `purged_at`. The row and its envelope (type,
  triggered_at, scheduling_request_id, status, body hash) stay: the live feed's cursor is
  the delivery id, a request's notification count comes from these rows, and the hash
  still turns away a late retry of the same body. Failed and pending deliveries keep their
  body, since reprocessing needs it.
- visits: deleted, after their counts are added to purged_visit_counts, so every click
  count stays what it was.
- outbox attempts (the outbound delivery logs) are deleted; a message delivered or given up
  before the window keeps its row (event, target, attempts, state) with its body emptied
  and `purged_at` set. Pending messages are never touched.
- refused-delivery counts (per minute and reason) are deleted.
Scheduling Requests, with their summary fields and counts, are never touched.

Each batch is its own short write transaction, so a large purge never holds SQLite's write
lock for long, and the receiver and the redirect keep writing in between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp.audit import actions
from webapp.audit.log import Target, record
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import (
    DELIVERY_APPLIED,
    DELIVERY_STALE,
    Delivery,
    OutboxAttempt,
    OutboxMessage,
    PurgedVisitCount,
    RefusedDelivery,
    Visit,
)

BATCH_SIZE = 500
PURGED_STATUSES = (DELIVERY_APPLIED, DELIVERY_STALE)
HUMAN = "human"  # the clicks (webapp/tracking/agents.py)

# The kinds a purge removes, in the order it removes them, with words for people.
KINDS = {
    "payloads": "raw notification payloads",
    "visits": "tracked-link visits",
    "outbox_attempts": "outbound delivery attempts",
    "outbox_bodies": "outbound message bodies",
    "refused_deliveries": "refused-delivery counts",
}


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, on a dry run, would remove), by kind."""

    days: int
    cutoff: datetime
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _old_payloads(cutoff: datetime) -> Select[Any]:
    return select(Delivery.id).where(
        Delivery.received_at < cutoff,
        Delivery.status.in_(PURGED_STATUSES),
        Delivery.purged_at.is_(None),
    )


def _old_visits(cutoff: datetime) -> Select[Any]:
    return select(Visit.id).where(Visit.at < cutoff)


def _old_attempts(cutoff: datetime) -> Select[Any]:
    return select(OutboxAttempt.id).where(OutboxAttempt.at < cutoff)


def _old_bodies(cutoff: datetime) -> Select[Any]:
    return select(OutboxMessage.id).where(
        or_(OutboxMessage.delivered_at < cutoff, OutboxMessage.gave_up_at < cutoff),
        OutboxMessage.purged_at.is_(None),
    )


def _old_refusals(cutoff: datetime) -> Select[Any]:
    return select(RefusedDelivery.id).where(RefusedDelivery.last_at < cutoff)


FINDERS: dict[str, Callable[[datetime], Select[Any]]] = {
    "payloads": _old_payloads,
    "visits": _old_visits,
    "outbox_attempts": _old_attempts,
    "outbox_bodies": _old_bodies,
    "refused_deliveries": _old_refusals,
}


def count_due(cutoff: datetime) -> dict[str, int]:
    """How many rows of each kind a purge at `cutoff` would remove (a dry run); reads only."""
    counts = {
        kind: int(db.session.scalar(select(func.count()).select_from(find(cutoff).subquery())))
        for kind, find in FINDERS.items()
    }
    db.session.commit()
    return counts


def purge(
    now: datetime, days: int, *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> PurgeReport:
    """Remove everything older than `days` before `now`, batch by batch, then write one
    audit entry (system actor) with the counts. A dry run counts and changes nothing."""
    cutoff = now - timedelta(days=days)
    if dry_run:
        return PurgeReport(days, cutoff, True, count_due(cutoff))
    removers = {
        "payloads": _empty_payloads,
        "visits": _delete_visits,
        "outbox_attempts": _delete_attempts,
        "outbox_bodies": _empty_bodies,
        "refused_deliveries": _delete_refusals,
    }
    counts = {}
    for kind, remove in removers.items():
        counts[kind] = _in_batches(FINDERS[kind](cutoff), remove, now, batch_size)
    report = PurgeReport(days, cutoff, False, counts)
    with write_transaction():
        record(
            actions.RETENTION_PURGED,
            Target("retention", None, f"older than {days} day(s)"),
            {"retention_days": days, "cutoff": cutoff, **counts},
            actor=None,
        )
    return report


def _in_batches(
    finder: Select[Any],
    remove: Callable[[list[int], datetime], int],
    now: datetime,
    batch_size: int,
) -> int:
    """Remove what `finder` selects, `batch_size` rows per write transaction, oldest first."""
    removed = 0
    after = 0
    key = finder.selected_columns[0]
    while True:
        with write_transaction():
            ids = list(
                db.session.scalars(finder.where(key > after).order_by(key).limit(batch_size))
            )
            if ids:
                removed += remove(ids, now)
        if len(ids) < batch_size:
            return removed
        after = ids[-1]


def _empty_payloads(ids: list[int], now: datetime) -> int:
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.purged_at.is_(None))
        .values(body=b"", purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _delete_visits(ids: list[int], now: datetime) -> int:
    """Delete the visits and add them to their links' purged counts, in one transaction.
    DELETE ... RETURNING counts only the rows this transaction removed, so two purges at
    once (the CLI and the daily one) never count a visit twice."""
    gone = db.session.execute(
        delete(Visit).where(Visit.id.in_(ids)).returning(Visit.tracked_link_id, Visit.agent_class)
    ).all()
    visits = Counter(link_id for link_id, _ in gone)
    humans = Counter(link_id for link_id, agent in gone if agent == HUMAN)
    if visits:
        _add_purged_counts(
            [
                {"tracked_link_id": link_id, "visits": count, "human_visits": humans[link_id]}
                for link_id, count in sorted(visits.items())
            ]
        )
    return len(gone)


def _add_purged_counts(rows: list[dict[str, int]]) -> None:
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(PurgedVisitCount)
    statement = statement.on_conflict_do_update(
        index_elements=[PurgedVisitCount.tracked_link_id],
        set_={
            "visits": PurgedVisitCount.visits + statement.excluded.visits,
            "human_visits": PurgedVisitCount.human_visits + statement.excluded.human_visits,
        },
    )
    db.session.execute(statement, rows)


def _delete_attempts(ids: list[int], now: datetime) -> int:
    result = db.session.execute(
        delete(OutboxAttempt)
        .where(OutboxAttempt.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _empty_bodies(ids: list[int], now: datetime) -> int:
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.purged_at.is_(None))
        .values(body=b"", purged_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _delete_refusals(ids: list[int], now: datetime) -> int:
    result = db.session.execute(
        delete(RefusedDelivery)
        .where(RefusedDelivery.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
