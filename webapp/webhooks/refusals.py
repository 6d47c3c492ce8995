"""The record of refused receiver hits: time, client address and reason, never the body.

Unauthenticated requests can come in any number, so the table is kept bounded: rows older
than RETENTION and rows beyond MAX_ROWS are pruned whenever a refusal is recorded.
"""

from __future__ import annotations

from datetime import timedelta

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import RefusedDelivery, utcnow

RETENTION = timedelta(days=30)
MAX_ROWS = 10_000


def record_refusal(client_address: str | None, reason: str) -> None:
    """Note one refused hit and prune old ones, in one write transaction."""
    now = utcnow()
    with write_transaction():
        refusal = RefusedDelivery(
            at=now, client_address=(client_address or "unknown")[:64], reason=reason[:200]
        )
        db.session.add(refusal)
        db.session.flush()
        db.session.execute(
            db.delete(RefusedDelivery).where(
                (RefusedDelivery.at < now - RETENTION)
                | (RefusedDelivery.id <= refusal.id - MAX_ROWS)
            )
        )


def refused_since(hours: int = 24) -> int:
    """How many hits were refused in the last `hours` hours."""
    since = utcnow() - timedelta(hours=hours)
    return db.session.execute(
        db.select(db.func.count(RefusedDelivery.id)).where(RefusedDelivery.at >= since)
    ).scalar_one()


def latest_refusals(limit: int = 20) -> list[RefusedDelivery]:
    return list(
        db.session.execute(
            db.select(RefusedDelivery).order_by(RefusedDelivery.id.desc()).limit(limit)
        ).scalars()
    )
