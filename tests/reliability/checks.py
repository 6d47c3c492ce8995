"""Reading back what the server stored (through a second app on the server's database) and
comparing it with the workload's independently computed expectation."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import func, select

from tests.reliability.workload import Expected, Workload
from webapp.extensions import db
from webapp.models import DELIVERY_PENDING, Delivery, SchedulingRequest

SETTLED = {"applied", "stale"}


@dataclass
class Stored:
    """Every delivery's status by body hash, and every request's state by its id."""

    deliveries: dict[str, str]
    requests: dict[str, Expected]

    def statuses(self) -> Counter[str]:
        return Counter(self.deliveries.values())


def read_back(app: Flask) -> Stored:
    with app.app_context():
        try:
            deliveries = dict(
                db.session.execute(select(Delivery.body_sha256, Delivery.status)).all()
            )
            requests = {
                row.scheduling_request_id: Expected(
                    status=row.status,
                    summary=row.summary,
                    emails=tuple(person.get("email") for person in row.recipients or []),
                    correlation_id=row.correlation_id,
                    duration_minutes=row.duration_minutes,
                    last_triggered_at=row.last_triggered_at,
                    notification_count=row.notification_count,
                )
                for row in db.session.execute(select(SchedulingRequest)).scalars()
            }
        finally:
            db.session.remove()
    return Stored(deliveries, requests)


def state_mismatches(stored: Stored, workload: Workload, limit: int = 10) -> list[str]:
    """Why the stored state is not the triggered_at-order state ([] when it is)."""
    problems = []
    wanted_hashes = {note.sha256 for note in workload.notes}
    missing = wanted_hashes - stored.deliveries.keys()
    extra = stored.deliveries.keys() - wanted_hashes
    if missing:
        problems.append(f"{len(missing)} notification(s) never stored")
    if extra:
        problems.append(f"{len(extra)} unexpected stored delivery(ies)")
    unsettled = Counter(s for s in stored.deliveries.values() if s not in SETTLED)
    if unsettled:
        problems.append(f"deliveries not applied: {dict(unsettled)}")
    expected = workload.expected()
    if stored.requests.keys() != expected.keys():
        problems.append(
            f"requests: {len(expected.keys() - stored.requests.keys())} missing, "
            f"{len(stored.requests.keys() - expected.keys())} unexpected"
        )
    wrong = [
        f"{srq_id}: stored {stored.requests[srq_id]} expected {want}"
        for srq_id, want in sorted(expected.items())
        if srq_id in stored.requests and stored.requests[srq_id] != want
    ]
    if wrong:
        problems.append(f"{len(wrong)} request(s) in the wrong state, e.g.:")
        problems.extend(wrong[:limit])
    return problems


def apply_delays(app: Flask) -> list[float]:
    """Seconds from storing each delivery to applying it, sorted (for the report)."""
    with app.app_context():
        try:
            pairs = db.session.execute(select(Delivery.received_at, Delivery.processed_at)).all()
        finally:
            db.session.remove()
    return sorted((done - got).total_seconds() for got, done in pairs if done is not None)


def wait_until_applied(app: Flask, timeout: float = 60.0) -> float:
    """Seconds until no stored delivery is left pending (the servers' appliers apply them
    right after acknowledging them); AssertionError after `timeout`."""
    started = time.monotonic()
    while True:
        with app.app_context():
            try:
                pending = db.session.execute(
                    select(func.count(Delivery.id)).where(Delivery.status == DELIVERY_PENDING)
                ).scalar_one()
            finally:
                db.session.remove()
        waited = time.monotonic() - started
        if not pending:
            return waited
        assert waited < timeout, f"{pending} deliveries still pending after {timeout:g} s"
        time.sleep(0.05)
