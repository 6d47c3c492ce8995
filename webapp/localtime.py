"""Times as people read them: in the viewer's own time zone, or UTC for machines.

Every time a person reads is in their own time zone (`User.time_zone`, else UTC): these
filters take the signed-in viewer's zone unless given one. Relative times ("5 minutes
ago") carry the exact local time in their tooltip (templates/_macros.html). What machines
read stays UTC: `iso_utc` (the `datetime` attribute of <time>, the API, CSV exports).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from flask import g, has_request_context
from flask_login import current_user

from webapp.display import plural
from webapp.timezones import zone_key, zone_label, zone_or_utc


def viewer_zone() -> tzinfo:
    """The signed-in person's time zone (UTC for anonymous pages and outside requests).

    Remembered for the request: a live stream's generator renders rows long after the
    view returned, and must not read the user row again (see webapp/live/views.py).
    """
    if not has_request_context():
        return UTC
    zone = g.get("viewer_zone")
    if zone is None:
        name = None
        if current_user and current_user.is_authenticated:
            name = getattr(current_user, "time_zone", None)
        zone = g.viewer_zone = zone_or_utc(name)
    return zone


def viewer_zone_name() -> str:
    """The viewer's zone as its IANA name ("Asia/Kolkata"), for labels and forms."""
    return zone_key(viewer_zone())


def _local(value: datetime, zone: tzinfo | None) -> datetime:
    return value.astimezone(zone or viewer_zone())


def iso_utc(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    """'2026-03-03 06:30:00 PST': to the second, in the viewer's zone."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {zone_label(local)}"


def friendly_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    """'Tue 3 Mar 2026, 06:30 PST': how a person reads a meeting time, in their zone."""
    if value is None:
        return ""
    local = _local(value, zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {zone_label(local)}"


def meeting_span(
    start: datetime | None, end: datetime | None = None, zone: tzinfo | None = None
) -> str:
    """'Tue 3 Mar 2026, 06:30–07:00 PST'; the end's date too when it is another day."""
    if start is None:
        return ""
    if end is None:
        return friendly_time(start, zone)
    first, last = _local(start, zone), _local(end, zone)
    if first.date() == last.date():
        return f"{first:%a} {first.day} {first:%b %Y, %H:%M}–{last:%H:%M} {zone_label(last)}"
    return f"{friendly_time(start, zone)} to {friendly_time(end, zone)}"


def short_time(value: datetime | None, zone: tzinfo | None = None) -> str:
    """'3 Mar, 06:30' (the year only when it is not this year), for table cells whose
    header names the zone (see `zone_abbreviation`)."""
    if value is None:
        return ""
    local = _local(value, zone)
    this_year = datetime.now(UTC).astimezone(local.tzinfo).year
    year = "" if local.year == this_year else f" {local.year}"
    return f"{local.day} {local:%b}{year}, {local:%H:%M}"


def zone_abbreviation(zone: tzinfo | None = None) -> str:
    """The viewer's zone as a column header names it now: 'PST', 'IST', 'UTC+05:45'."""
    return zone_label(datetime.now(UTC).astimezone(zone or viewer_zone()))


def local_input(value: datetime | None, zone: tzinfo | None = None) -> str:
    """The value for an <input type="datetime-local">, in the viewer's zone."""
    if value is None:
        return ""
    return _local(value, zone).strftime("%Y-%m-%dT%H:%M")


def friendly_iso(value: str | None) -> str:
    """An ISO-8601 time from a payload, as friendly_time; the text itself if it is not one."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        return value
    return friendly_time(parsed)


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{plural(seconds // size, unit)} ago"
    return "just now" if seconds < 10 else f"{seconds} seconds ago"
