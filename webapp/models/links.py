"""Public Links (Cronofy booking pages), tracked links and their visits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow
from webapp.models.users import User

__all__ = ["CRONOFY_HOSTS", "UTM_KEYS", "LinkBatch", "PublicLink", "TrackedLink", "Visit"]

# The hosts of Cronofy's app (docs/cronofy.md): US and the data centres. Public Links live
# there, and so do the booking pages a notification points invitees to.
CRONOFY_HOSTS = frozenset(
    {"app.cronofy.com"} | {f"app-{dc}.cronofy.com" for dc in ("au", "ca", "de", "sg", "uk")}
)

# Cronofy's metadata allow-list for booking links, besides correlation_id
# (docs/cronofy.md): a tracked link carries them and notifications hand them back.
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class PublicLink(db.Model):
    __tablename__ = "public_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()


class LinkBatch(db.Model):
    """One bulk CSV upload. The links it created point at it; its idempotency key (one per
    upload form shown) makes a repeated submission of the same form create nothing."""

    __tablename__ = "link_batches"
    __table_args__ = (
        Index("ix_link_batches_created_by_content", "created_by_id", "content_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    public_link_id: Mapped[int] = mapped_column(ForeignKey("public_links.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    columns: Mapped[str] = mapped_column(String(500))  # the uploaded header, comma-separated
    # sha256 of the Public Link's id and the file: the same file sent again from a form
    # shown anew (the back button reloads it with a new key) is the same upload too.
    content_sha256: Mapped[str] = mapped_column(String(64), default="")
    link_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    public_link: Mapped[PublicLink] = relationship()
    created_by: Mapped[User | None] = relationship()


class TrackedLink(db.Model):
    __tablename__ = "tracked_links"
    __table_args__ = (
        Index("ix_tracked_links_created_by_created", "created_by_id", "created_at"),
        Index("ix_tracked_links_public_link_created", "public_link_id", "created_at"),
        Index("ix_tracked_links_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_link_id: Mapped[int] = mapped_column(ForeignKey("public_links.id"))
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    correlation_id: Mapped[str] = mapped_column(String(128), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    utm_source: Mapped[str | None] = mapped_column(String(128))
    utm_medium: Mapped[str | None] = mapped_column(String(128))
    utm_campaign: Mapped[str | None] = mapped_column(String(128))
    utm_term: Mapped[str | None] = mapped_column(String(128))
    utm_content: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When off, a click after the invitee has booked goes to the booking's view_url.
    allow_repeat_bookings: Mapped[bool] = mapped_column(default=False)
    # Denormalised from the latest Scheduling Request, so the redirect stays one lookup.
    booking_view_url: Mapped[str | None] = mapped_column(String(2000))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("link_batches.id"), index=True)
    # Person clicks (human visits), kept by the visit writer in the transaction that stores
    # the visits (webapp/clicks.py), so figures and follow-up lists read one row per link.
    person_clicks: Mapped[int] = mapped_column(default=0, server_default="0")
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    public_link: Mapped[PublicLink] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def utm(self) -> dict[str, str]:
        return {key: value for key in UTM_KEYS if (value := getattr(self, key))}


class Visit(db.Model):
    """One request to /l/<slug>. Only human visits mint a token and count as clicks."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_tracked_link_at", "tracked_link_id", "at"),
        # Covers the click counts of a page of tracked links (human visits per link).
        Index("ix_visits_tracked_link_agent", "tracked_link_id", "agent_class"),
        # Person clicks in a period, whatever the link: the overview tiles, and the silence
        # alarm's "the first / how many person clicks since T".
        Index("ix_visits_agent_at", "agent_class", "at", "tracked_link_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracked_link_id: Mapped[int] = mapped_column(ForeignKey("tracked_links.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    jti: Mapped[str | None] = mapped_column(String(64))
    agent_class: Mapped[str] = mapped_column(String(16))  # human | bot | preview | head
    # redirect | booked | refused | preview | unavailable (see webapp/tracking/service.py)
    outcome: Mapped[str] = mapped_column(String(16))
