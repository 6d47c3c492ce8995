"""Outbound webhook endpoints (webapp/outbound/): where the app pushes what it learns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

ENDPOINT_WEBHOOK = "webhook"  # Standard Webhooks: signed JSON
ENDPOINT_SLACK = "slack"  # a Slack incoming-webhook URL: one short human message
ENDPOINT_KINDS = (ENDPOINT_WEBHOOK, ENDPOINT_SLACK)

DISABLED_BY_ADMIN = "admin"
DISABLED_FAILING = "failing"


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=ENDPOINT_WEBHOOK)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    # The signing secret (whsec_...): kept so the app can sign, shown once at creation.
    secret: Mapped[str | None] = mapped_column(String(200))
    # After a rotation the old secret signs too, until previous_secret_until.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Since when every attempt has failed (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # admins told it fails
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
