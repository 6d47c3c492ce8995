"""When a booked meeting is: a notification's event start and end as aware UTC datetimes.

Pure: no Flask, no database. Cronofy's documented example carries no event times at all
(docs/cronofy.md), so every value is optional and a value that cannot be read is None,
never an error: the notification is stored and applied whatever its times say.

A payload's `event.start` / `event.end` is either an ISO-8601 string or an object
`{"time": "...", "tzid": "Europe/London"}`. A time with an offset (or `Z`) is exact. A time
without one is read in the object's `tzid` when it names a known zone, else as UTC (Cronofy
writes its times in UTC). A date alone ("2026-03-03", an all-day event) is its midnight.

The receiver stores the strings it read in `event_start` / `event_end` and, beside them,
the aware datetimes in `meeting_starts_at` / `meeting_ends_at`, which the requests table
sorts and shows in each viewer's zone: `meeting_columns` gives those two from the payload's
values, and `fill` sets them on a row from its stored strings.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from webapp.timezones import zone_named

MAX_TIME_LENGTH = 100  # the stored string columns' size: longer is not a time
START, END = "meeting_starts_at", "meeting_ends_at"


def meeting_time(value: Any) -> datetime | None:
    """One event time (a string, or an object with "time" and maybe "tzid") as an aware
    UTC datetime; None when absent or unreadable."""
    zone = None
    if isinstance(value, Mapping):
        zone = zone_named(value.get("tzid"))
        value = value.get("time")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TIME_LENGTH:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone or UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. year 1 with a positive offset
        return None


def meeting_times(start: Any, end: Any) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a meeting. An end is kept only after a start: an end alone, or one
    at or before the start, says nothing a person can use."""
    starts_at, ends_at = meeting_time(start), meeting_time(end)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        ends_at = None
    return starts_at, ends_at


def meeting_columns(start: Any, end: Any) -> dict[str, datetime | None]:
    """{"meeting_starts_at": ..., "meeting_ends_at": ...} for a row's state."""
    starts_at, ends_at = meeting_times(start, end)
    return {START: starts_at, END: ends_at}


def meeting_of(row: Any) -> tuple[datetime | None, datetime | None]:
    """A Scheduling Request's meeting: its stored columns, or, for a row stored before they
    were filled, read from its `event_start` / `event_end` strings."""
    if row.meeting_starts_at is not None:
        return row.meeting_starts_at, row.meeting_ends_at
    if row.event_start is None:
        return None, None
    return meeting_times(row.event_start, row.event_end)


def fill(row: Any) -> Any:
    """Set a Scheduling Request's meeting columns from its stored `event_start` /
    `event_end` strings (a mapping such as the receiver's row state, or an object such as
    the ORM row); returns the row."""
    if isinstance(row, MutableMapping):
        row.update(meeting_columns(row.get("event_start"), row.get("event_end")))
        return row
    for name, value in meeting_columns(row.event_start, row.event_end).items():
        setattr(row, name, value)
    return row
