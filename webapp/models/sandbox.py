"""The simulated Cronofy (docs/architecture.md): accepted claim tokens and bookings.

Its notifications go through the shared outbox (webapp/outbox/, sender kind "sandbox").

These tables only fill while WEBAPP_SANDBOX is on; the rest of the app never reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

SANDBOX_TIME_CHOSEN = "time_chosen"
SANDBOX_RESCHEDULED = "rescheduled"
SANDBOX_DECLINED = "declined"


class SandboxBooking(db.Model):
    """One booking made on a sandbox booking page; its notifications go through the outbox."""

    __tablename__ = "sandbox_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheduling_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The invitee's unguessable handle on their booking (the confirmation page URL).
    confirmation_token: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    slot_end: Mapped[datetime] = mapped_column(UTCDateTime)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone_number: Mapped[str] = mapped_column(String(64), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(32), default=SANDBOX_TIME_CHOSEN)
    # Booked through a claim token. Without one Cronofy still takes the booking but sends no
    # notification, and neither does the sandbox.
    claimed: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The triggered_at of the latest notification; the next one is always later, so the
    # receiver can order them even when they arrive out of order.
    last_triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def captured_data(self) -> dict[str, str]:
        answers = {"phone_number": self.phone_number, "notes": self.notes}
        return {key: value for key, value in answers.items() if value}


class SandboxClaim(db.Model):
    """A claim token the sandbox accepted. Its jti is unique: a second use is a replay."""

    __tablename__ = "sandbox_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(64))
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("sandbox_bookings.id", ondelete="SET NULL")
    )
