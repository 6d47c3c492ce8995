"""The one durable outbox (webapp/outbox/): every outbound message and each attempt at it.

A message row is written in the same transaction as the change that causes it, so a change
is never committed without its message, nor a message without its change. The worker sends
it later, records every attempt, and retries on the sender kind's schedule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

# The first 1 KiB of an answer is kept with each attempt (the delivery log shows it).
RESPONSE_EXCERPT_BYTES = 1024


class OutboxMessage(db.Model):
    """One message to send: what (kind, topic, body, headers), where (target) and how it went."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "delivered_at", "gave_up_at", "next_attempt_at"),
        Index("ix_outbox_messages_target", "kind", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique per message and the same on every attempt (Standard Webhooks' webhook-id).
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # which registered sender sends it
    topic: Mapped[str] = mapped_column(String(200))  # event or notification type
    # The feature's own id of the destination (a webhook endpoint, a user, a booking).
    target_id: Mapped[int | None] = mapped_column()
    target: Mapped[str] = mapped_column(String(2000))  # a URL or an email address
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # Failures since the schedule last started (a resend or a release starts it again).
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Held messages wait without being tried (e.g. their webhook endpoint is disabled).
    held: Mapped[bool] = mapped_column(default=False)
    # A worker owns a message until claimed_until, so two never send it at the same time.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    # Retention (webapp/retention/) emptied the body of this sent or given-up message.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        if self.gave_up_at is not None:
            return "gave_up"
        if self.held:
            return "held"
        return "pending" if self.attempts == 0 else "retrying"


class OutboxAttempt(db.Model):
    """One try at sending a message: the delivery log's line."""

    __tablename__ = "outbox_attempts"
    __table_args__ = (Index("ix_outbox_attempts_message", "message_pk", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()  # 1 for the first attempt
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[int | None] = mapped_column()  # HTTP or SMTP code; None: no answer
    ok: Mapped[bool] = mapped_column(default=False)
    duration_ms: Mapped[int] = mapped_column(default=0)
    response: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
