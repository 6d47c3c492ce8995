"""A tracked link's story, oldest first: created (by whom), each person's click, each
notification about its bookings, and every edit, disable and enable (from the audit log).

Visits and notifications point at each other: a notification links to its request's page
(and the request page's visits link back here, by `#visit-<id>`), and the last person
click before a request's first notification is marked as the click that led to it.
Each source is one indexed query bounded by MAX_EACH, so a link clicked ten thousand
times still renders at once; the page says when older entries are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select

from webapp.audit import actions
from webapp.clicks import PERSON
from webapp.extensions import db
from webapp.models import AuditEvent, Delivery, SchedulingRequest, TrackedLink, Visit
from webapp.samples import real_requests

MAX_EACH = 100
EDIT_ACTIONS = (
    actions.TRACKED_LINK_UPDATED,
    actions.TRACKED_LINK_DISABLED,
    actions.TRACKED_LINK_ENABLED,
)


@dataclass(frozen=True)
class Entry:
    kind: str  # created | click | notification | edit | disabled | enabled
    at: datetime
    anchor: str  # the element id, for links from elsewhere
    actor: str | None = None  # who (created, edits)
    status: str | None = None  # a notification's type
    scheduling_request_id: str | None = None  # the request a notification (or click) concerns
    changes: tuple[str, ...] = ()  # the fields an edit changed
    led_to: str | None = None  # a click: the request it led to


@dataclass(frozen=True)
class Timeline:
    entries: list[Entry]
    clipped: bool  # older clicks, notifications or edits are not shown


def _newest_first(model: Any, *columns: str, at: str = "at") -> Select[Any]:
    """A source's query: the id and `columns` of its rows, newest first (by `at`, then id),
    one more than MAX_EACH so that the timeline can tell whether older ones are left out."""
    return (
        select(model.id, *(getattr(model, name) for name in columns))
        .order_by(getattr(model, at).desc(), model.id.desc())
        .limit(MAX_EACH + 1)
    )


def _rows(query: Select[Any]) -> list[Row[Any]]:
    return list(db.session.execute(query))


def link_timeline(link: TrackedLink) -> Timeline:
    creator = link.created_by.display_name if link.created_by else None
    entries = [Entry("created", link.created_at, "created", actor=creator)]
    clicks = _rows(
        _newest_first(Visit, "at").where(
            Visit.tracked_link_id == link.id, Visit.agent_class == PERSON
        )
    )
    notes = _rows(
        _newest_first(
            Delivery,
            "type",
            "triggered_at",
            "received_at",
            "scheduling_request_id",
            at="received_at",
        )
        .join(
            SchedulingRequest,
            SchedulingRequest.scheduling_request_id == Delivery.scheduling_request_id,
        )
        .where(SchedulingRequest.tracked_link_id == link.id, real_requests())
    )
    edits = _rows(
        _newest_first(AuditEvent, "at", "action", "actor_email", "changes").where(
            AuditEvent.target_type == actions.TARGET_TRACKED_LINK,
            AuditEvent.target_id == link.id,
            AuditEvent.action.in_(EDIT_ACTIONS),
        )
    )
    clipped = any(len(rows) > MAX_EACH for rows in (clicks, notes, edits))
    clicks, notes, edits = clicks[:MAX_EACH], notes[:MAX_EACH], edits[:MAX_EACH]
    led_to = _clicks_that_led_to_bookings(clicks, notes)
    entries += [
        Entry("click", row.at, f"visit-{row.id}", led_to=led_to.get(row.id)) for row in clicks
    ]
    entries += [
        Entry(
            "notification",
            row.triggered_at or row.received_at,
            f"notification-{row.id}",
            status=row.type,
            scheduling_request_id=row.scheduling_request_id,
        )
        for row in notes
    ]
    entries += [
        Entry(
            row.action.rsplit(".", 1)[-1].replace("updated", "edit"),
            row.at,
            f"change-{row.id}",
            actor=row.actor_email or "the system",
            changes=tuple(sorted(row.changes or {})),
        )
        for row in edits
    ]
    entries.sort(key=lambda entry: (entry.at, _ORDER.get(entry.kind, 9)))
    return Timeline(entries, clipped)


_ORDER = {"created": 0, "edit": 1, "disabled": 1, "enabled": 1, "click": 2, "notification": 3}


def _clicks_that_led_to_bookings(clicks: list, notes: list) -> dict[int, str]:  # type: ignore[type-arg]
    """For each request, the last person click before its first notification."""
    first_note: dict[str, datetime] = {}
    for row in notes:
        when = row.triggered_at or row.received_at
        if (
            row.scheduling_request_id not in first_note
            or when < first_note[row.scheduling_request_id]
        ):
            first_note[row.scheduling_request_id] = when
    led: dict[int, str] = {}
    for srq, when in sorted(first_note.items(), key=lambda item: item[1]):
        before = [row for row in clicks if row.at <= when]
        if before:
            led.setdefault(max(before, key=lambda row: (row.at, row.id)).id, srq)
    return led
