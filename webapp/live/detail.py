"""Everything the detail page (and the API's detail) shows about one Scheduling Request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from webapp.display import decode_payload
from webapp.extensions import db
from webapp.models import Delivery, PublicLink, SchedulingRequest, TrackedLink, User, Visit

VISITS_SHOWN = 50
MAX_REQUEST_ID = 200  # the column's length (and the receiver's limit for ids)


class RequestNotFound(LookupError):
    """No Scheduling Request has that id."""


@dataclass(frozen=True)
class TimelineEntry:
    """One delivery in a Scheduling Request's timeline."""

    delivery: Delivery
    payload: Any  # the parsed JSON, or None when the body is not JSON
    pretty: str  # pretty-printed JSON, or the body decoded with replacement characters


@dataclass(frozen=True)
class RequestDetail:
    request: SchedulingRequest
    public_link: PublicLink | None
    owner: User | None
    tracked_link: TrackedLink | None
    visits: list[Visit]
    notifications: list[TimelineEntry]


def notifications_for(scheduling_request_id: str) -> list[TimelineEntry]:
    """Every delivery for the request, by triggered_at (unknown last) then arrival."""
    deliveries = db.session.execute(
        select(Delivery)
        .where(Delivery.scheduling_request_id == scheduling_request_id)
        .order_by(Delivery.triggered_at.is_(None), Delivery.triggered_at, Delivery.id)
    ).scalars()
    result = []
    for delivery in deliveries:
        if delivery.purged_at is not None:  # emptied by RETENTION_DAYS (webapp/retention/)
            result.append(TimelineEntry(delivery, None, ""))
            continue
        parsed, pretty = decode_payload(delivery.body)
        result.append(TimelineEntry(delivery, parsed, pretty))
    return result


def get_request(scheduling_request_id: str) -> SchedulingRequest:
    """The Scheduling Request, or RequestNotFound."""
    request = find_request(scheduling_request_id)
    if request is None:
        raise RequestNotFound(scheduling_request_id[:MAX_REQUEST_ID])
    return request


def find_request(scheduling_request_id: str) -> SchedulingRequest | None:
    """The Scheduling Request with this id, or None."""
    # No stored id holds NUL (PostgreSQL refuses it even in a query) or is that long.
    if "\x00" in scheduling_request_id or len(scheduling_request_id) > MAX_REQUEST_ID:
        return None
    return db.session.execute(
        select(SchedulingRequest).where(
            SchedulingRequest.scheduling_request_id == scheduling_request_id
        )
    ).scalar_one_or_none()


def load_detail(scheduling_request_id: str) -> RequestDetail:
    """The request with its links, latest visits and full timeline; RequestNotFound."""
    request = get_request(scheduling_request_id)
    tracked_link = request.tracked_link
    visits: list[Visit] = []
    if tracked_link is not None:
        visits = list(
            db.session.execute(
                select(Visit)
                .where(Visit.tracked_link_id == tracked_link.id)
                .order_by(Visit.at.desc(), Visit.id.desc())
                .limit(VISITS_SHOWN)
            ).scalars()
        )
    public_link = request.public_link or (tracked_link.public_link if tracked_link else None)
    owner = db.session.get(User, request.owner_id) if request.owner_id else None
    return RequestDetail(
        request=request,
        public_link=public_link,
        owner=owner,
        tracked_link=tracked_link,
        visits=visits,
        notifications=notifications_for(scheduling_request_id),
    )
