"""Deliveries and Scheduling Requests for tests, written straight to the database.

They mirror what the receiver's ingest stores: a Delivery per notification (raw body, its
sha256, type, triggered_at, status, processed_at) and a SchedulingRequest whose fields are
extracted from the latest applied one. Call inside `with app.app_context():`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Delivery, SchedulingRequest, TrackedLink, utcnow
from webapp.models.search_terms import refresh_search_terms, search_fields

PREFIX = "scheduling_request_"


@dataclass(frozen=True)
class RequestRef:
    """Ids of a Scheduling Request made inside an app context, safe to use outside it."""

    id: int
    scheduling_request_id: str
    delivery_ids: tuple[int, ...]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_payload(
    scheduling_request_id: str,
    notification_type: str,
    triggered_at: datetime,
    *,
    summary: str | None,
    recipients: list[dict[str, Any]],
    correlation_id: str | None,
    utm: dict[str, str],
    captured_data: dict[str, str],
    duration_minutes: int | None,
    slot_selection: str | None,
    dashboard_url: str | None,
    recipient_operations: dict[str, str],
) -> dict[str, Any]:
    """A notification shaped like Cronofy's documented example."""
    scheduler: dict[str, Any] = dict(utm)
    if correlation_id is not None:
        scheduler["correlation_id"] = correlation_id
    scheduler.update({f"captured_data.{key}": value for key, value in captured_data.items()})
    return {
        "notification": {"type": notification_type, "triggered_at": iso(triggered_at)},
        "scheduling_request": {
            "scheduling_request_id": scheduling_request_id,
            "slot_selection": slot_selection,
            "dashboard_url": dashboard_url,
            "recipient_operations": recipient_operations,
            "summary": summary,
            "duration": {"minutes": duration_minutes},
            "recipients": recipients,
            "event": {"summary": summary, "metadata": {"scheduler": scheduler}},
        },
    }


def make_delivery(
    *,
    body: bytes | None = None,
    payload: dict[str, Any] | None = None,
    status: str = "applied",
    notification_type: str | None = None,
    triggered_at: datetime | None = None,
    scheduling_request_id: str | None = None,
    received_at: datetime | None = None,
    error: str | None = None,
) -> int:
    """Store one delivery (committed) and return its id; type etc. come from the payload."""
    if body is None:
        body = json.dumps(payload or {}).encode()
    notification = (payload or {}).get("notification", {})
    srq = (payload or {}).get("scheduling_request", {})
    if triggered_at is None and notification.get("triggered_at"):
        triggered_at = datetime.fromisoformat(notification["triggered_at"])
    delivery = Delivery(
        body=body,
        body_sha256=hashlib.sha256(body).hexdigest(),
        type=notification_type or notification.get("type"),
        triggered_at=triggered_at,
        scheduling_request_id=scheduling_request_id or srq.get("scheduling_request_id"),
        status=status,
        error=error,
        received_at=received_at or utcnow(),
        processed_at=None if status == "pending" else utcnow(),
    )
    db.session.add(delivery)
    db.session.commit()
    return delivery.id


def make_request(
    scheduling_request_id: str | None = None,
    *,
    tracked_link: TrackedLink | None = None,
    correlation_id: str | None = None,
    status: str = "time_chosen",
    summary: str | None = "Product Manager Interview at Globex",
    invitee_name: str = "Dr Emmet Brown",
    invitee_email: str = "eb@example.com",
    recipients: list[dict[str, Any]] | None = None,
    captured_data: dict[str, str] | None = None,
    utm: dict[str, str] | None = None,
    duration_minutes: int | None = 30,
    slot_selection: str | None = "complete",
    dashboard_url: str | None = "https://app.cronofy.com/scheduler/80f7fece4f37897d62d86d80",
    recipient_operations: dict[str, str] | None = None,
    event_start: str | None = None,
    event_end: str | None = None,
    updated_at: datetime | None = None,
    notifications: int = 1,
    owner_id: int | None = None,
    public_link_id: int | None = None,
) -> RequestRef:
    """A Scheduling Request and its `notifications` applied deliveries, all consistent.

    With a tracked link, the correlation ID, Public Link and owner (its creator) come from
    it unless given; without one the request is unmatched.
    """
    srq_id = scheduling_request_id or "srq_" + secrets.token_hex(12)
    updated_at = updated_at or utcnow()
    if tracked_link is not None:
        correlation_id = correlation_id or tracked_link.correlation_id
        public_link_id = public_link_id or tracked_link.public_link_id
        owner_id = owner_id or tracked_link.created_by_id or tracked_link.public_link.owner_id
    if recipients is None:
        recipients = [
            {
                "email": invitee_email,
                "display_name": invitee_name,
                "select_url": "https://app.cronofy.com/rts/1234abc",
                "slot_selector": True,
            }
        ]
    if recipient_operations is None:
        recipient_operations = {
            "view_url": "https://app.cronofy.com/rts/LOiwlKXQ",
            "reschedule_url": "https://app.cronofy.com/rts/LOiwlKXQ?reschedule=true",
            "decline_url": "https://app.cronofy.com/rts/LOiwlKXQ?decline=true",
        }
    fields: dict[str, Any] = {
        "summary": summary,
        "recipients": recipients,
        "correlation_id": correlation_id,
        "utm": utm or {},
        "captured_data": captured_data or {},
        "duration_minutes": duration_minutes,
        "slot_selection": slot_selection,
        "dashboard_url": dashboard_url,
        "recipient_operations": recipient_operations,
    }
    delivery_ids = []
    first_triggered = updated_at - timedelta(minutes=notifications)
    for number in range(notifications):
        triggered = first_triggered + timedelta(minutes=number + 1)
        payload = build_payload(srq_id, PREFIX + status, triggered, **fields)
        delivery_ids.append(make_delivery(payload=payload, received_at=triggered))
    request = SchedulingRequest(
        scheduling_request_id=srq_id,
        tracked_link_id=tracked_link.id if tracked_link is not None else None,
        public_link_id=public_link_id,
        owner_id=owner_id,
        status=status,
        last_triggered_at=updated_at,
        event_start=event_start,
        event_end=event_end,
        notification_count=notifications,
        last_delivery_id=delivery_ids[-1] if delivery_ids else None,
        first_notified_at=first_triggered + timedelta(minutes=1),
        updated_at=updated_at,
        **fields,
    )
    db.session.add(request)
    db.session.flush()
    refresh_search_terms(db.session, request.id, fields)
    db.session.commit()
    return RequestRef(request.id, srq_id, tuple(delivery_ids))


def _request(scheduling_request_id: str) -> SchedulingRequest:
    return db.session.execute(
        select(SchedulingRequest).where(
            SchedulingRequest.scheduling_request_id == scheduling_request_id
        )
    ).scalar_one()


def add_notification(
    scheduling_request_id: str,
    notification_type: str = PREFIX + "rescheduled",
    *,
    pending: bool = False,
    triggered_at: datetime | None = None,
    **changes: Any,
) -> int:
    """A further notification for an existing request; applied (the default) or pending."""
    request = _request(scheduling_request_id)
    triggered_at = triggered_at or utcnow()
    fields = {
        "summary": request.summary,
        "recipients": request.recipients,
        "correlation_id": request.correlation_id,
        "utm": request.utm,
        "captured_data": request.captured_data,
        "duration_minutes": request.duration_minutes,
        "slot_selection": request.slot_selection,
        "dashboard_url": request.dashboard_url,
        "recipient_operations": request.recipient_operations,
    }
    fields.update(changes)
    payload = build_payload(scheduling_request_id, notification_type, triggered_at, **fields)
    delivery_id = make_delivery(payload=payload, status="pending" if pending else "applied")
    if not pending:
        _apply(delivery_id, changes)
    return delivery_id


def apply_delivery(delivery_id: int, **changes: Any) -> None:
    """Apply a pending delivery to its request, as the ingest does later."""
    delivery = db.session.get(Delivery, delivery_id)
    assert delivery is not None
    delivery.status = "applied"
    delivery.processed_at = utcnow()
    db.session.commit()
    _apply(delivery_id, changes)


def _apply(delivery_id: int, changes: dict[str, Any]) -> None:
    delivery = db.session.get(Delivery, delivery_id)
    assert delivery is not None and delivery.scheduling_request_id is not None
    request = _request(delivery.scheduling_request_id)
    for name, value in changes.items():
        setattr(request, name, value)
    request.status = (delivery.type or "").removeprefix(PREFIX)
    request.last_triggered_at = delivery.triggered_at
    request.notification_count += 1
    request.last_delivery_id = delivery_id
    request.updated_at = utcnow()
    db.session.flush()
    refresh_search_terms(db.session, request.id, search_fields(request))
    db.session.commit()
