"""Turning one parsed notification into Scheduling Request state (inside the caller's
write transaction; see ingest.apply_delivery).

Rules (DESIGN §2, §5): upsert by scheduling_request_id; state only moves forward in
triggered_at, so an older notification arriving late is recorded as `stale` but does not
roll the row back; the correlation ID ties the request to its tracked link, and unmatched
or missing IDs are kept.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func

from webapp.extensions import db
from webapp.models import (
    DELIVERY_APPLIED,
    DELIVERY_STALE,
    Delivery,
    SchedulingRequest,
    TrackedLink,
)
from webapp.webhooks.payload import Notification

COUNTED = (DELIVERY_APPLIED, DELIVERY_STALE)
# A booking in one of these states no longer stands, so the invitee may book again.
ENDED_WORDS = ("decline", "cancel")


def apply_notification(notification: Notification, delivery: Delivery, now: datetime) -> bool:
    """Update the request from notification; True when its state was applied, False if stale.

    Sets delivery.status. Whatever the outcome the row's counters move (count, first
    notified, updated_at, last_delivery_id), because the timeline grew either way.
    """
    request = db.session.execute(
        db.select(SchedulingRequest)
        .where(SchedulingRequest.scheduling_request_id == notification.scheduling_request_id)
        .with_for_update()
    ).scalar_one_or_none()
    if request is None:
        request = SchedulingRequest(
            scheduling_request_id=notification.scheduling_request_id,
            status=notification.status,
            recipients=[],
            recipient_operations={},
            captured_data={},
            utm={},
            first_notified_at=delivery.received_at,
            updated_at=now,
        )
        db.session.add(request)
    fresh = request.last_triggered_at is None or (
        notification.triggered_at >= request.last_triggered_at
    )
    if fresh:
        _take_state(request, notification)
    delivery.status = DELIVERY_APPLIED if fresh else DELIVERY_STALE
    db.session.flush()

    count, first = db.session.execute(
        db.select(func.count(Delivery.id), func.min(Delivery.received_at)).where(
            Delivery.scheduling_request_id == notification.scheduling_request_id,
            Delivery.status.in_(COUNTED),
        )
    ).one()
    request.notification_count = count
    if first is not None:
        request.first_notified_at = first
    request.updated_at = now
    request.last_delivery_id = delivery.id
    request.search_text = search_text(request)
    if fresh:
        _update_tracked_link(request)
    return fresh


def _take_state(request: SchedulingRequest, notification: Notification) -> None:
    request.status = notification.status
    request.last_triggered_at = notification.triggered_at
    request.summary = notification.summary
    request.recipients = notification.recipients
    request.duration_minutes = notification.duration_minutes
    request.slot_selection = notification.slot_selection
    request.dashboard_url = notification.dashboard_url
    request.recipient_operations = notification.recipient_operations
    request.event_start = notification.event_start
    request.event_end = notification.event_end
    # A notification without any scheduler metadata says nothing about the booking link,
    # so it keeps the tie (and answers) that earlier notifications established.
    if not notification.has_metadata:
        return
    request.utm = notification.utm
    request.captured_data = notification.captured_data
    request.correlation_id = notification.correlation_id
    link = None
    if notification.correlation_id:
        link = db.session.execute(
            db.select(TrackedLink).where(TrackedLink.correlation_id == notification.correlation_id)
        ).scalar_one_or_none()
    request.tracked_link = link
    request.tracked_link_id = link.id if link else None
    request.public_link_id = link.public_link_id if link else None
    request.owner_id = link.created_by_id if link else None


def _update_tracked_link(request: SchedulingRequest) -> None:
    """Tell the tracked link where its booking lives (the redirect sends later clicks there)."""
    if request.tracked_link_id is None:
        return
    link = db.session.get(TrackedLink, request.tracked_link_id)
    if link is None:
        return
    status = (request.status or "").lower()
    if any(word in status for word in ENDED_WORDS):
        link.booking_view_url = None
    elif is_web_url(view_url := (request.recipient_operations or {}).get("view_url")):
        link.booking_view_url = view_url


def is_web_url(value: object) -> bool:
    """Only an absolute http(s) URL may become a redirect target (never javascript: etc.).

    http is allowed because the sandbox's pages are served over plain http on a laptop.
    """
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in {"https", "http"} and bool(parts.netloc) and "\\" not in value


def search_text(request: SchedulingRequest) -> str:
    """Lower-cased names, emails, summary and correlation ID, for the free-text filter."""
    parts: list[str] = []
    for recipient in request.recipients or []:
        parts.extend(value for key in ("display_name", "email") if (value := recipient.get(key)))
    parts.extend(value for value in (request.summary, request.correlation_id) if value)
    return " ".join(parts).lower()
