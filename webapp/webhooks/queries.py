"""Read-only questions the admin pages ask about deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from webapp.extensions import db
from webapp.models import (
    DELIVERY_APPLIED,
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_STALE,
    Delivery,
)
from webapp.pagination import InvalidCursor, decode_cursor, encode_cursor
from webapp.security import MAX_DATABASE_ID

STATUSES = (DELIVERY_PENDING, DELIVERY_APPLIED, DELIVERY_STALE, DELIVERY_FAILED)
PAGE_SIZE = 50


@dataclass(frozen=True)
class DeliveryPage:
    items: list[Delivery]
    next_cursor: str | None


def deliveries_page(
    status: str | None = None, cursor: str | None = None, limit: int = PAGE_SIZE
) -> DeliveryPage:
    """Deliveries newest first, optionally of one status; keyset-paginated by id.

    Raises pagination.InvalidCursor for a cursor this app did not make.
    """
    query = db.select(Delivery).order_by(Delivery.id.desc()).limit(limit + 1)
    if status in STATUSES:
        query = query.where(Delivery.status == status)
    if cursor:
        (before,) = decode_cursor(cursor, 1)
        if not isinstance(before, int) or not 0 <= before <= MAX_DATABASE_ID:
            raise InvalidCursor("cursor is not valid")
        query = query.where(Delivery.id < before)
    rows = list(db.session.execute(query).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows, encode_cursor(rows[-1].id) if more and rows else None)


def count_with_status(status: str) -> int:
    return db.session.execute(
        db.select(db.func.count(Delivery.id)).where(Delivery.status == status)
    ).scalar_one()


def last_delivery_at() -> datetime | None:
    """When the newest authentic delivery arrived, or None if none ever did."""
    return db.session.execute(
        db.select(Delivery.received_at).order_by(Delivery.id.desc()).limit(1)
    ).scalar_one_or_none()
