"""The rules that turn notifications into a Scheduling Request's state. Pure: no database.

State only moves forward in triggered_at (docs/architecture.md), so an older notification
arriving late is `stale` and does not roll the request back; a notification updates only
the fields it carries (payload.Notification.carried), so one that leaves out the summary
keeps what an earlier one said; the correlation ID ties the request to its tracked link,
and unmatched or missing IDs are kept; a notification without scheduler metadata keeps the
tie earlier ones established. The tracked link then sends later clicks to the booking's
page, but only to Cronofy's own app (BookingRule). store.py reads and writes the rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from webapp.meetings import END, START, meeting_columns
from webapp.models import DELIVERY_APPLIED, DELIVERY_STALE
from webapp.models.links import CRONOFY_HOSTS
from webapp.models.search_terms import search_fields, search_terms
from webapp.webhooks.payload import OPTIONAL_FIELDS, Notification

# A booking in one of these states no longer stands, so the invitee may book again.
ENDED_WORDS = ("decline", "cancel")


MEETING_COLUMNS = (START, END)
# Everything a notification decides; the counters are kept apart (see store.py).
STATE = (
    "status",
    "last_triggered_at",
    *OPTIONAL_FIELDS,  # summary, recipients, ... as far as the notification carries them
    *MEETING_COLUMNS,  # event_start / event_end read as aware UTC datetimes
    "utm",
    "captured_data",
    "correlation_id",
    "tracked_link_id",
    "public_link_id",
    "owner_id",
)


@dataclass(frozen=True)
class Ready:
    """A stored, not yet applied delivery and the notification read from its body.

    `terms`: the search terms of the notification's own searchable fields, when already
    worked out (see notification_terms), so that they need not be inside the transaction.
    """

    delivery_id: int
    received_at: datetime
    notification: Notification
    terms: tuple[str, ...] | None = None


@dataclass
class Fold:
    """One request's state after its notifications in this batch, and what they did."""

    state: dict[str, Any]
    statuses: dict[int, str] = field(default_factory=dict)
    link_effects: list[tuple[int, str | None]] = field(default_factory=list)
    fresh: bool = False  # at least one notification's state was taken
    last_fresh: Ready | None = None


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Controls, space, backslash (browsers read it as a slash) and anything not ASCII.
UNSAFE_IN_URL = re.compile(r"[^\x21-\x5b\x5d-\x7e]")


@dataclass(frozen=True)
class BookingRule:
    """Where a booking's `view_url` may send the tracked link's later clicks: https pages on
    Cronofy's app hosts, and with the sandbox on its own pages (under /sandbox/) at
    `sandbox_origin`, or at any loopback origin when the app has no PUBLIC_BASE_URL (a
    sandbox on a laptop). Never a URL with a user name, a port on Cronofy's hosts, a
    backslash, a space, a control or a non-ASCII character: it goes into a Location header.
    """

    sandbox_origin: str | None = None
    sandbox_loopback: bool = False

    def allows(self, url: Any) -> bool:
        if not isinstance(url, str) or UNSAFE_IN_URL.search(url):
            return False
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        host = parts.hostname
        if not host or "@" in parts.netloc:
            return False
        if parts.scheme == "https" and port is None and host in CRONOFY_HOSTS:
            return True
        if not parts.path.startswith("/sandbox/") or parts.scheme not in ("http", "https"):
            return False
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if self.sandbox_origin is not None and origin == self.sandbox_origin.lower():
            return True
        return self.sandbox_loopback and host in LOOPBACK_HOSTS


def fold_group(
    row: dict[str, Any] | None,
    group: list[Ready],
    links: Mapping[str, Any],
    rule: BookingRule,
) -> Fold:
    """Apply one request's notifications, in the order given (triggered_at, then id), to
    its row (None: a request not seen before). `links`: tracked links by correlation ID."""
    fold = Fold(state=dict(row) if row else _blank(group[0].notification))
    state = fold.state
    for item in group:
        notification = item.notification
        last = state["last_triggered_at"]
        fresh = last is None or notification.triggered_at >= last
        if fresh:
            _take_state(state, notification, links)
            fold.fresh, fold.last_fresh = True, item
            if (effect := _booking_effect(state, rule)) is not None:
                fold.link_effects.append(effect)
        fold.statuses[item.delivery_id] = DELIVERY_APPLIED if fresh else DELIVERY_STALE
    return fold


def _blank(notification: Notification) -> dict[str, Any]:
    state: dict[str, Any] = dict.fromkeys(STATE)
    state.update(recipients=[], recipient_operations={}, captured_data={}, utm={})
    state["scheduling_request_id"] = notification.scheduling_request_id
    return state


def _take_state(
    state: dict[str, Any], notification: Notification, links: Mapping[str, Any]
) -> None:
    state.update(status=notification.status, last_triggered_at=notification.triggered_at)
    for name in OPTIONAL_FIELDS:
        if name in notification.carried:
            state[name] = getattr(notification, name)
    # The requests table sorts and shows meetings in each viewer's zone from these.
    state.update(meeting_columns(state["event_start"], state["event_end"]))
    # A notification without any scheduler metadata says nothing about the booking link,
    # so it keeps the tie (and answers) that earlier notifications established.
    if not notification.has_metadata:
        return
    link = links.get(notification.correlation_id) if notification.correlation_id else None
    state.update(
        utm=notification.utm,
        captured_data=notification.captured_data,
        correlation_id=notification.correlation_id,
        tracked_link_id=link.id if link else None,
        public_link_id=link.public_link_id if link else None,
        owner_id=link.created_by_id if link else None,
    )


def _booking_effect(state: dict[str, Any], rule: BookingRule) -> tuple[int, str | None] | None:
    """What the tracked link learns about its booking (the redirect sends later clicks
    there): (link id, view URL or None once the booking has ended), or None for nothing."""
    if state["tracked_link_id"] is None:
        return None
    status = (state["status"] or "").lower()
    if any(word in status for word in ENDED_WORDS):
        return state["tracked_link_id"], None
    view_url = (state["recipient_operations"] or {}).get("view_url")
    if rule.allows(view_url):
        return state["tracked_link_id"], view_url
    return None


def notification_terms(notification: Notification) -> tuple[str, ...]:
    """The search terms a request gets from this notification's own searchable fields."""
    return tuple(search_terms(search_fields(notification)))


def known_terms(fold: Fold, fields: Mapping[str, Any]) -> Sequence[str] | None:
    """The terms worked out with the last applied notification, if the request's final
    fields are that notification's own (they are unless it carried no correlation ID of
    its own): then they need not be worked out again inside the transaction."""
    last = fold.last_fresh
    if last is None or last.terms is None:
        return None
    if fields != search_fields(last.notification):
        return None
    return last.terms
