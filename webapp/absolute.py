"""Absolute URLs and local times for messages built outside any request (webhook bodies,
Slack messages, emails), e.g. by the receiver's background applier or the outbox worker.

With PUBLIC_BASE_URL set (production should), links are that origin plus the page's path.
Without it, inside a request they fall back to webapp.urls.external_url; outside one they
are the bare path (e.g. "/requests/srq_1"), since there is no trustworthy origin to add:
the settings pages say so, and README asks for PUBLIC_BASE_URL when webhooks or email
are in use.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_request_context

from webapp.urls import external_url


def public_url(endpoint: str, **values: object) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if has_request_context():
        return external_url(endpoint, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return (base or "") + path


def user_zone(user: object | None) -> tzinfo:
    """A user's time zone: their `time_zone` setting when the app has one, else UTC."""
    name = getattr(user, "time_zone", None) if user is not None else None
    if not name:
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO-8601 time as stored from a notification (event_start), or None."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def local_time(value: str | datetime | None, zone: tzinfo) -> str | None:
    """'Tue 2 Dec 2025, 14:00 (Europe/London)', or None when there is no time."""
    moment = parse_time(value)
    if moment is None:
        return None
    local = moment.astimezone(zone)
    name = getattr(zone, "key", None) or local.tzname() or "UTC"
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({name})"
