"""Push notifications shaped exactly like Cronofy's (cronofy/scheduling_request_time_chosen.json).

Pure: no Flask, no database. The body is serialised once, and the signature is computed
over those exact bytes, as Cronofy does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from webapp.models.links import UTM_KEYS
from webapp.webhooks.signatures import HEADER, sign

TIME_CHOSEN = "scheduling_request_time_chosen"  # the one type Cronofy documents by name
# Cronofy sends notifications when the recipient reschedules or declines but does not
# publish their type names; these two are the sandbox's own.
RESCHEDULED = "scheduling_request_rescheduled"
DECLINED = "scheduling_request_declined"

CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class BookingUrls:
    """Where the invitee views, reschedules or declines, and the organiser's page (absolute)."""

    view_url: str
    dashboard_url: str

    @property
    def reschedule_url(self) -> str:
        return self.view_url + "?reschedule=true"

    @property
    def decline_url(self) -> str:
        return self.view_url + "?decline=true"


@dataclass(frozen=True)
class BookingFacts:
    """Everything a notification says about one booking."""

    scheduling_request_id: str
    summary: str
    name: str
    email: str
    start: datetime | None
    end: datetime | None
    duration_minutes: int
    correlation_id: str | None = None
    utm: Mapping[str, str] = field(default_factory=dict)
    captured_data: Mapping[str, str] = field(default_factory=dict)


def iso_z(value: datetime) -> str:
    """ISO-8601 UTC with a Z, whole seconds, as in Cronofy's payloads."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_payload(
    notification_type: str,
    facts: BookingFacts,
    urls: BookingUrls,
    triggered_at: datetime,
    *,
    slot_selection: str = "complete",
) -> dict[str, Any]:
    """The notification as a dict. A declined booking has slot_selection "pending" and no
    event start or end (the receiver must not require them anyway)."""
    scheduler: dict[str, str] = {}
    if facts.correlation_id:
        scheduler["correlation_id"] = facts.correlation_id
    for key in UTM_KEYS:
        if facts.utm.get(key):
            scheduler[key] = facts.utm[key]
    for key, value in facts.captured_data.items():
        if value:
            scheduler[f"captured_data.{key}"] = value
    event: dict[str, Any] = {"summary": facts.summary}
    if facts.start is not None and facts.end is not None:
        event["start"] = {"time": iso_z(facts.start), "tzid": "Etc/UTC"}
        event["end"] = {"time": iso_z(facts.end), "tzid": "Etc/UTC"}
    event["metadata"] = {"scheduler": scheduler}
    return {
        "notification": {"type": notification_type, "triggered_at": iso_z(triggered_at)},
        "scheduling_request": {
            "scheduling_request_id": facts.scheduling_request_id,
            "slot_selection": slot_selection,
            "primary_select_url": urls.view_url,
            "dashboard_url": urls.dashboard_url,
            "recipient_operations": {
                "view_url": urls.view_url,
                "reschedule_url": urls.reschedule_url,
                "decline_url": urls.decline_url,
            },
            "summary": facts.summary,
            "duration": {"minutes": facts.duration_minutes},
            "recipients": [
                {
                    "email": facts.email,
                    "display_name": facts.name,
                    "select_url": urls.view_url,
                    "slot_selector": True,
                }
            ],
            "event": event,
        },
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    """Serialise once; the signature covers exactly these bytes."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(body: bytes, client_secrets: Sequence[str]) -> str:
    """The Cronofy-HMAC-SHA256 value: one HMAC per active client secret, joined by "," with
    no space, as Cronofy sends it while an application has several secrets."""
    if not client_secrets:
        raise ValueError("no client secret to sign with")
    return ",".join(sign(body, secret) for secret in client_secrets)


def signed_headers(body: bytes, client_secrets: Sequence[str]) -> dict[str, str]:
    """The only two headers Cronofy sends: the content type and the HMAC."""
    return {"Content-Type": CONTENT_TYPE, HEADER: signature(body, client_secrets)}
