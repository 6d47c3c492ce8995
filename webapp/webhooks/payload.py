"""Reading a Cronofy push notification (docs/cronofy.md). Pure: bytes in, a Notification out.

Everything in a payload is untrusted: types are checked rather than assumed (a number where
a string belongs is a PayloadError, never a crash), identifiers that are too long are
refused, display text that is absurdly long is cut, numbers JSON cannot carry (NaN,
Infinity) are refused, and nothing is interpreted as markup. A later notification may carry
fewer fields than an earlier one, so the reading says which fields a payload carries
(`carried`): the rest are not "empty", they are unsaid. No Flask and no database here, so
the receiver, the applier and tests share one reading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from webapp.models.links import UTM_KEYS
from webapp.webhooks.untrusted import (
    MAX_TEXT,
    PayloadError,
    identifier,
    kind,
    load,
    mapping,
    printable,
    text,
)

CAPTURED_PREFIX = "captured_data."
OPERATION_KEYS = ("view_url", "reschedule_url", "decline_url")

# Limits follow the columns they land in, so PostgreSQL's VARCHARs never overflow.
MAX_IDENTIFIER = 200  # notification type, scheduling_request_id
MAX_CORRELATION_ID = 128  # Cronofy's own limit for metadata values
MAX_URL = 2000
MAX_SHORT = 50  # slot_selection
MAX_TIME = 100  # event start/end as given
MAX_RECIPIENTS = 100
MAX_CAPTURED = 100
# The Scheduling Request fields a notification may leave out; `Notification.carried` names
# the ones it does carry (present and not null).
OPTIONAL_FIELDS = (
    "summary",
    "recipients",
    "duration_minutes",
    "slot_selection",
    "dashboard_url",
    "recipient_operations",
    "event_start",
    "event_end",
)


@dataclass(frozen=True)
class Envelope:
    """The parts stored beside every delivery; each None when absent or unreadable."""

    type: str | None = None
    triggered_at: datetime | None = None
    scheduling_request_id: str | None = None


@dataclass(frozen=True)
class Notification:
    type: str
    triggered_at: datetime
    scheduling_request_id: str
    summary: str | None = None
    recipients: list[dict[str, Any]] = field(default_factory=list)
    duration_minutes: int | None = None
    slot_selection: str | None = None
    dashboard_url: str | None = None
    primary_select_url: str | None = None
    recipient_operations: dict[str, str] = field(default_factory=dict)
    # False when the payload carries no event.metadata.scheduler at all.
    has_metadata: bool = False
    correlation_id: str | None = None
    utm: dict[str, str] = field(default_factory=dict)
    captured_data: dict[str, str] = field(default_factory=dict)
    event_start: str | None = None
    event_end: str | None = None
    carried: frozenset[str] = frozenset(OPTIONAL_FIELDS)

    @property
    def status(self) -> str:
        """The type without its 'scheduling_request_' prefix; unknown types the same way."""
        return self.type.removeprefix("scheduling_request_") or self.type


def envelope(body: bytes) -> Envelope:
    """Best effort: whatever of type, triggered_at and scheduling_request_id is readable."""
    try:
        document = load(body)
    except PayloadError:
        return Envelope()
    return Envelope(
        type=_quietly(_notification_type, document),
        triggered_at=_quietly(_triggered_at, document),
        scheduling_request_id=_quietly(_scheduling_request_id, document),
    )


def parse(body: bytes) -> Notification:
    """The notification in body, or PayloadError naming the first thing that is wrong."""
    document = load(body)
    request = mapping(document.get("scheduling_request"), "scheduling_request", required=True)
    event = mapping(request.get("event"), "scheduling_request.event")
    metadata = mapping(event.get("metadata"), "scheduling_request.event.metadata")
    raw_scheduler = metadata.get("scheduler")
    scheduler = mapping(raw_scheduler, "scheduling_request.event.metadata.scheduler")
    start, end = _event_time(event, "start"), _event_time(event, "end")
    duration = mapping(request.get("duration"), "scheduling_request.duration")
    summary = text(request, "summary", "scheduling_request")
    if not summary:
        summary = text(event, "summary", "scheduling_request.event") or summary
    read = {
        "summary": summary,
        "recipients": _recipients(request.get("recipients")),
        "duration_minutes": _minutes(duration.get("minutes")),
        "slot_selection": identifier(request, "slot_selection", "scheduling_request", MAX_SHORT),
        "dashboard_url": identifier(request, "dashboard_url", "scheduling_request", MAX_URL),
        "recipient_operations": _operations(request.get("recipient_operations")),
        "event_start": start,
        "event_end": end,
    }
    said = {
        "summary": summary is not None,
        "recipients": request.get("recipients") is not None,
        "duration_minutes": duration.get("minutes") is not None,
        "recipient_operations": request.get("recipient_operations") is not None,
    }
    return Notification(
        type=_notification_type(document),
        triggered_at=_triggered_at(document),
        scheduling_request_id=_scheduling_request_id(document),
        primary_select_url=identifier(request, "primary_select_url", "scheduling_request", MAX_URL),
        has_metadata=raw_scheduler is not None,
        correlation_id=identifier(
            scheduler, "correlation_id", "metadata.scheduler", MAX_CORRELATION_ID
        ),
        utm={
            key: value
            for key in UTM_KEYS
            if (value := text(scheduler, key, "metadata.scheduler", MAX_CORRELATION_ID))
        },
        captured_data=_captured(scheduler),
        carried=frozenset(
            name for name in OPTIONAL_FIELDS if said.get(name, read[name] is not None)
        ),
        **read,
    )


def parse_time(value: str) -> datetime:
    """ISO-8601 with 'Z' or an offset, as timezone-aware UTC; ValueError otherwise."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        raise ValueError("no timezone")
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:  # e.g. 9999-12-31T23:59:59-23:59 is past the year 9999 in UTC
        raise ValueError("out of range in UTC") from exc


def _required(document: dict[str, Any], section: str, key: str, limit: int, why: str = "") -> str:
    """document[section][key], a non-empty string of at most `limit` characters."""
    value = identifier(mapping(document.get(section), section, required=True), key, section, limit)
    if not value:
        raise PayloadError(f"{section}.{key} is missing{why}")
    return value


def _notification_type(document: dict[str, Any]) -> str:
    return _required(document, "notification", "type", MAX_IDENTIFIER)


def _triggered_at(document: dict[str, Any]) -> datetime:
    value = _required(
        document, "notification", "triggered_at", MAX_TIME, " (needed to order notifications)"
    )
    try:
        return parse_time(value)
    except ValueError as exc:
        raise PayloadError(
            f"notification.triggered_at is not an ISO-8601 time with a timezone: {value!r}"
        ) from exc


def _scheduling_request_id(document: dict[str, Any]) -> str:
    return _required(document, "scheduling_request", "scheduling_request_id", MAX_IDENTIFIER)


def _quietly(read, document):  # type: ignore[no-untyped-def]
    try:
        return read(document)
    except PayloadError:
        return None


def _recipients(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"scheduling_request.recipients should be a list, got {kind(value)}")
    recipients = []
    for index, item in enumerate(value[:MAX_RECIPIENTS]):
        where = f"scheduling_request.recipients[{index}]"
        recipient = mapping(item, where, required=True)
        selector = recipient.get("slot_selector")
        if selector is not None and not isinstance(selector, bool):
            raise PayloadError(f"{where}.slot_selector should be true or false")
        recipients.append(
            {
                "email": text(recipient, "email", where),
                "display_name": text(recipient, "display_name", where),
                "select_url": identifier(recipient, "select_url", where, MAX_URL),
                "slot_selector": selector,
            }
        )
    return recipients


def _minutes(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise PayloadError("scheduling_request.duration.minutes should be a whole number")
    return value


def _operations(value: Any) -> dict[str, str]:
    operations = mapping(value, "scheduling_request.recipient_operations")
    return {
        key: url
        for key in OPERATION_KEYS
        if (url := identifier(operations, key, "recipient_operations", MAX_URL))
    }


def _captured(scheduler: dict[str, Any]) -> dict[str, str]:
    """Answers the invitee typed, from dotted keys: captured_data.<name> -> {name: answer}.

    Cronofy does not document the answer types, so any JSON value is kept, as text.
    """
    answers: dict[str, str] = {}
    for key, value in scheduler.items():
        if not key.startswith(CAPTURED_PREFIX) or len(answers) >= MAX_CAPTURED:
            continue
        name = printable(key[len(CAPTURED_PREFIX) :][:MAX_IDENTIFIER])
        if not name or value is None:
            continue
        answer = printable(
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        )
        answers[name] = answer if len(answer) <= MAX_TEXT else answer[: MAX_TEXT - 1] + "…"
    return answers


def _event_time(event: dict[str, Any], key: str) -> str | None:
    """event.start / event.end: a string, or an object with a "time" string."""
    value = event.get(key)
    where = f"scheduling_request.event.{key}"
    if isinstance(value, dict):
        return identifier(value, "time", where, MAX_TIME)
    return identifier(event, key, "scheduling_request.event", MAX_TIME)
