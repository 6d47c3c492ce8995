"""The JSON shapes of the app's resources, one place for each (docs/architecture.md).

The JSON API answers with them, and outbound webhooks carry the very same objects as their
`data`, so an integration reads one shape whichever way it learns about a change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from webapp.meetings import meeting_of
from webapp.models import UTM_KEYS, PublicLink, SchedulingRequest, TrackedLink
from webapp.templating import iso_utc
from webapp.urls import short_url


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


def scheduling_request_json(item: SchedulingRequest) -> dict[str, Any]:
    """The documented shape of a Scheduling Request (docs/architecture.md), nothing more.

    `event_start` / `event_end`: the meeting, as ISO-8601 UTC, or null when no notification
    said (webapp/meetings.py)."""
    starts_at, ends_at = meeting_of(item)
    return {
        "scheduling_request_id": item.scheduling_request_id,
        "status": item.status,
        "correlation_id": item.correlation_id,
        "tracked_link_id": item.tracked_link_id,
        "public_link_id": item.public_link_id,
        "summary": item.summary,
        "recipients": item.recipients or [],
        "duration_minutes": item.duration_minutes,
        "slot_selection": item.slot_selection,
        "dashboard_url": item.dashboard_url,
        "captured_data": item.captured_data or {},
        "utm": item.utm or {},
        "notification_count": item.notification_count,
        "first_notified_at": _iso(item.first_notified_at),
        "updated_at": _iso(item.updated_at),
        "event_start": _iso(starts_at),
        "event_end": _iso(ends_at),
    }


def public_link_json(link: PublicLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "name": link.name,
        "url": link.url,
        "active": link.active,
        "owner_id": link.owner_id,
        "created_at": iso_utc(link.created_at),
        "updated_at": iso_utc(link.updated_at),
    }


def tracked_link_json(
    link: TrackedLink, click_count: int, *, url: str | None = None
) -> dict[str, Any]:
    """`url`: the absolute short URL when the caller built it (outside a request);
    by default webapp.urls.short_url."""
    return {
        "id": link.id,
        "slug": link.slug,
        "url": url if url is not None else short_url(link.slug),
        "public_link_id": link.public_link_id,
        "correlation_id": link.correlation_id,
        "label": link.label,
        "utm": {key: getattr(link, key) for key in UTM_KEYS},
        "expires_at": iso_utc(link.expires_at) or None,
        "disabled": link.disabled_at is not None,
        "disabled_at": iso_utc(link.disabled_at) or None,
        "allow_repeat_bookings": link.allow_repeat_bookings,
        "click_count": click_count,
        "created_by_id": link.created_by_id,
        "created_at": iso_utc(link.created_at),
    }
