"""API: Public Links and tracked links (docs/architecture.md, "The stable contract").

The same services as the pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import g, request

from webapp.api import ApiError, bp, json_body, list_response, page_limit
from webapp.links import queries, service
from webapp.links.followup import MAX_IDLE_HOURS, parse_hours
from webapp.links.inputs import InvalidInput, parse_id
from webapp.links.sandbox import sandbox_origin
from webapp.links.validation import InvalidValue, validate_correlation_id
from webapp.models import utcnow
from webapp.outcomes import STATES
from webapp.pagination import InvalidCursor
from webapp.serializers import public_link_json, tracked_link_json


@bp.get("/public-links")
def list_public_links():  # type: ignore[no-untyped-def]
    page = _page(lambda cursor, limit: queries.public_links_page(cursor, limit))
    return list_response([public_link_json(link) for link in page.items], page.next_cursor)


@bp.post("/public-links")
def create_public_link():  # type: ignore[no-untyped-def]
    with _service_errors():
        link = service.create_public_link(g.api_user, json_body(), sandbox_origin=sandbox_origin())
    return public_link_json(link), 201


@bp.get("/public-links/<int:link_id>")
def get_public_link(link_id: int):  # type: ignore[no-untyped-def]
    with _service_errors():
        return public_link_json(service.get_public_link(link_id))


@bp.patch("/public-links/<int:link_id>")
def update_public_link(link_id: int):  # type: ignore[no-untyped-def]
    with _service_errors():
        link = service.update_public_link(
            g.api_user, link_id, json_body(), sandbox_origin=sandbox_origin()
        )
    return public_link_json(link)


@bp.get("/tracked-links")
def list_tracked_links():  # type: ignore[no-untyped-def]
    raw_public = request.args.get("public_link_id")
    public_link_id = parse_id(raw_public)
    if raw_public is not None and public_link_id is None:
        raise ApiError(422, "Invalid query.", {"public_link_id": "must be a Public Link's id"})
    correlation_id = request.args.get("correlation_id")
    if correlation_id is not None:
        try:
            correlation_id = validate_correlation_id(correlation_id)
        except InvalidValue as error:
            raise ApiError(422, "Invalid query.", {"correlation_id": str(error)}) from error
    state, clicked_before = _follow_up(request.args)
    filters = queries.LinkFilters(
        public_link_id=public_link_id,
        correlation_id=correlation_id,
        state=state,
        clicked_before=clicked_before,
    )
    page = _page(lambda cursor, limit: queries.tracked_links_by_id(filters, cursor, limit))
    counts = queries.click_counts([link.id for link in page.items])
    items = [tracked_link_json(link, counts.get(link.id, 0)) for link in page.items]
    return list_response(items, page.next_cursor)


@bp.post("/tracked-links")
def create_tracked_link():  # type: ignore[no-untyped-def]
    with _service_errors():
        link = service.create_tracked_link(g.api_user, json_body())
    return tracked_link_json(link, 0), 201


@bp.get("/tracked-links/<int:link_id>")
def get_tracked_link(link_id: int):  # type: ignore[no-untyped-def]
    with _service_errors():
        link = service.get_tracked_link(link_id)
    return tracked_link_json(link, queries.click_counts([link.id]).get(link.id, 0))


@bp.patch("/tracked-links/<int:link_id>")
def update_tracked_link(link_id: int):  # type: ignore[no-untyped-def]
    with _service_errors():
        link = service.update_tracked_link(g.api_user, link_id, json_body())
    return tracked_link_json(link, queries.click_counts([link.id]).get(link.id, 0))


def _follow_up(args) -> tuple[str | None, datetime | None]:  # type: ignore[no-untyped-def]
    """`state` (clicked_not_booked, not_clicked, booked) and `idle_hours` (only links whose
    last person click is at least that old; no limit unless given)."""
    errors: dict[str, str] = {}
    state = args.get("state")
    if state is not None and state not in STATES:
        errors["state"] = "one of " + ", ".join(STATES)
    clicked_before = None
    raw_hours = args.get("idle_hours")
    if raw_hours is not None:
        hours = parse_hours(raw_hours)
        if hours is None:
            errors["idle_hours"] = f"a whole number of hours from 0 to {MAX_IDLE_HOURS}"
        elif hours:
            clicked_before = utcnow() - timedelta(hours=hours)
    if errors:
        raise ApiError(422, "Invalid query.", errors)
    return state, clicked_before


def _page(fetch):  # type: ignore[no-untyped-def]
    limit = page_limit()
    try:
        return fetch(request.args.get("cursor") or None, limit)
    except InvalidCursor as error:
        raise ApiError(
            422, "Invalid query.", {"cursor": "not a cursor from this API; start without it"}
        ) from error


@contextmanager
def _service_errors() -> Iterator[None]:
    """Turn the services' domain errors into the API's error answers."""
    try:
        yield
    except InvalidInput as error:
        raise ApiError(error.status, error.message, error.fields) from error
    except service.NotFound as error:
        raise ApiError(404, str(error)) from error
    except service.NotAllowed as error:
        raise ApiError(403, str(error)) from error
