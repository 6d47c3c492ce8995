"""API: Scheduling Requests, read-only (the receiver is what writes them).

The list filters through the same query module as the dashboard, so both always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from flask import request

from webapp.api import ApiError, bp, list_response, page_limit
from webapp.links.inputs import parse_id
from webapp.live.detail import RequestNotFound, get_request, notifications_for
from webapp.live.queries import RequestFilters, fetch_page, request_select
from webapp.pagination import InvalidCursor
from webapp.security import MAX_DATABASE_ID
from webapp.serializers import scheduling_request_json
from webapp.templating import iso_utc


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


# The shared shape (outbound webhooks carry it too).
serialize = scheduling_request_json


def parse_filters(args: Mapping[str, str]) -> RequestFilters:
    """The list's filters from the query string; ApiError 422 naming every bad field."""
    errors: dict[str, str] = {}
    public_link_id: int | None = None
    raw_link = args.get("public_link_id")
    if raw_link is not None:
        public_link_id = parse_id(raw_link)
        if public_link_id is None or public_link_id > MAX_DATABASE_ID:
            errors["public_link_id"] = f"a Public Link id (a whole number, 1 to {MAX_DATABASE_ID})"
    updated_since: datetime | None = None
    raw_since = args.get("updated_since")
    if raw_since is not None:
        try:
            updated_since = datetime.fromisoformat(raw_since.strip())
        except ValueError:
            errors["updated_since"] = "an ISO-8601 time with a timezone, e.g. 2025-01-19T16:14:11Z"
        else:
            if updated_since.tzinfo is None:
                errors["updated_since"] = "the time needs a timezone, e.g. a trailing Z for UTC"
                updated_since = None
            else:
                try:
                    updated_since = updated_since.astimezone(UTC)
                except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59
                    errors["updated_since"] = "a time between the years 1 and 9999 in UTC"
                    updated_since = None
    correlation_id = _text_filter(args, "correlation_id", errors)
    status = _text_filter(args, "status", errors)
    if errors:
        raise ApiError(422, "Invalid query.", errors)
    return RequestFilters(
        status=status,
        public_link_id=public_link_id,
        correlation_id=correlation_id,
        updated_since=updated_since,
    )


def _text_filter(args: Mapping[str, str], name: str, errors: dict[str, str]) -> str | None:
    """A free-text filter: not empty, and without NUL (which no stored value has and which
    PostgreSQL refuses in a query)."""
    value = args.get(name)
    if value is None:
        return None
    if not value:
        errors[name] = "must not be empty"
    elif "\x00" in value:
        errors[name] = "must not contain NUL characters"
    return value


@bp.get("/scheduling-requests")
def list_scheduling_requests():  # type: ignore[no-untyped-def]
    filters = parse_filters(request.args)
    limit = page_limit()
    try:
        rows, next_cursor = fetch_page(request_select(filters), request.args.get("cursor"), limit)
    except InvalidCursor:
        raise ApiError(
            422, "Invalid query.", {"cursor": "not a cursor from this API; use next_cursor"}
        ) from None
    return list_response([serialize(row[0]) for row in rows], next_cursor)


@bp.get("/scheduling-requests/<path:scheduling_request_id>")  # ids may hold a "/"
def get_scheduling_request(scheduling_request_id: str):  # type: ignore[no-untyped-def]
    try:
        found = get_request(scheduling_request_id)
    except RequestNotFound:
        raise ApiError(404, "No Scheduling Request has that id.") from None
    body = serialize(found)
    body["notifications"] = [
        {
            "type": note.delivery.type,
            "triggered_at": _iso(note.delivery.triggered_at),
            "received_at": _iso(note.delivery.received_at),
            "status": note.delivery.status,
            "error": note.delivery.error,
            "payload": note.payload,
            # Set when RETENTION_DAYS emptied the payload (then null).
            "payload_removed_at": _iso(note.delivery.purged_at),
        }
        for note in notifications_for(scheduling_request_id)
    ]
    return body
