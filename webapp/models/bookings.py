"""What Cronofy tells us: every authentic delivery, and the Scheduling Requests they build."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.links import PublicLink, TrackedLink
from webapp.models.types import UTCDateTime, utcnow

DELIVERY_PENDING = "pending"
DELIVERY_APPLIED = "applied"
DELIVERY_STALE = "stale"  # authentic, recorded, but older than the state already applied
DELIVERY_FAILED = "failed"


class Delivery(db.Model):
    """One authentic hit on the receiver, stored before it is acknowledged.

    Its id is the cursor of the live feed.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_status_id", "status", "id"),
        Index("ix_deliveries_srq_triggered", "scheduling_request_id", "triggered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    type: Mapped[str | None] = mapped_column(String(200))
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduling_request_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=DELIVERY_PENDING)
    error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Retention (webapp/retention/) emptied the body at this time; the envelope stays.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefusedDelivery(db.Model):
    """Receiver hits refused in one minute for one reason (webapp/webhooks/refusals.py).
    Bodies are never stored: they are not authentic."""

    __tablename__ = "refused_deliveries"
    __table_args__ = (
        Index("ix_refused_deliveries_at_reason", "at", "reason", unique=True),
        Index("ix_refused_deliveries_last_at", "last_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # the minute's start
    reason: Mapped[str] = mapped_column(String(200))
    count: Mapped[int] = mapped_column(default=1)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_address: Mapped[str] = mapped_column(String(64))  # the latest one that minute


class SchedulingRequest(db.Model):
    __tablename__ = "scheduling_requests"
    __table_args__ = (
        Index("ix_scheduling_requests_updated", "updated_at", "id"),
        Index("ix_scheduling_requests_status_updated", "status", "updated_at", "id"),
        Index("ix_scheduling_requests_tracked_link", "tracked_link_id"),
        Index("ix_scheduling_requests_correlation_id", "correlation_id"),
        Index("ix_scheduling_requests_public_link_updated", "public_link_id", "updated_at", "id"),
        # The requests table's "upcoming meetings" order, and bookings in a period (tiles).
        Index("ix_scheduling_requests_meeting", "meeting_starts_at", "id"),
        Index("ix_scheduling_requests_first_notified", "first_notified_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduling_request_id: Mapped[str] = mapped_column(String(200), unique=True)
    tracked_link_id: Mapped[int | None] = mapped_column(ForeignKey("tracked_links.id"))
    # Denormalised from the tracked link so the live table filters without joins.
    public_link_id: Mapped[int | None] = mapped_column(ForeignKey("public_links.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(200))
    last_triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duration_minutes: Mapped[int | None] = mapped_column()
    slot_selection: Mapped[str | None] = mapped_column(String(50))
    dashboard_url: Mapped[str | None] = mapped_column(String(2000))
    recipient_operations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    captured_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    event_start: Mapped[str | None] = mapped_column(String(100))  # shown if a payload has one
    event_end: Mapped[str | None] = mapped_column(String(100))
    # The same times as aware UTC datetimes, or None (webapp/meetings.py).
    meeting_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    meeting_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notification_count: Mapped[int] = mapped_column(default=0)
    last_delivery_id: Mapped[int | None] = mapped_column()
    first_notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tracked_link: Mapped[TrackedLink | None] = relationship()
    public_link: Mapped[PublicLink | None] = relationship()


# Terms compare byte-wise so that a prefix is a contiguous index range: SQLite's default
# BINARY collation does that; PostgreSQL needs "C" (a linguistic collation orders "a-b"
# and "ab" by other rules, and a range over it would miss or include the wrong terms).
TERM_TYPE = String(200).with_variant(String(200, collation="C"), "postgresql")


class SchedulingRequestTerm(db.Model):
    """One lower-cased search word of a Scheduling Request (webapp/models/search_terms.py).

    The dashboard's free text is a prefix range over the (term, request) index, so a
    search costs what it finds, not the size of the table.
    """

    __tablename__ = "scheduling_request_terms"
    __table_args__ = (Index("ix_scheduling_request_terms_term", "term", "scheduling_request_pk"),)

    scheduling_request_pk: Mapped[int] = mapped_column(
        ForeignKey("scheduling_requests.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(TERM_TYPE, primary_key=True)
