"""What became of a tracked link, as SQL over its own row and its own requests.

Shared by the insights figures (webapp/insights/figures.py) and the follow-up lists of the
tracked-links page and API (webapp/links/queries.py). Each predicate is correlated to
`TrackedLink`: a click is read from the link's counters (webapp/clicks.py), an outcome is
an indexed lookup of the link's own Scheduling Requests (ix_scheduling_requests_tracked_link),
so a list or a figure costs what it shows, not what the tables hold. Test notifications
(webapp/samples.py) are never an outcome; statuses mean what webapp/statuses.py says.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import aliased

from webapp.models import SchedulingRequest, TrackedLink
from webapp.samples import real_requests
from webapp.statuses import BOOKED_STATUSES, DECLINED_STATUSES

# Follow-up states of a link, as the tracked-links page and API name them.
CLICKED_NOT_BOOKED = "clicked_not_booked"
NOT_CLICKED = "not_clicked"
BOOKED = "booked"
STATES = (CLICKED_NOT_BOOKED, NOT_CLICKED, BOOKED)

_request = aliased(SchedulingRequest, name="outcome")


def _tied(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        _request.tracked_link_id == TrackedLink.id,
        real_requests(_request.scheduling_request_id),
        *conditions,
    )


IS_CLICKED = TrackedLink.first_clicked_at.is_not(None)
HAS_REQUEST = _tied()  # any Scheduling Request has arrived for the link
IS_BOOKED = _tied(_request.status.in_(BOOKED_STATUSES))
ANY_DECLINED = _tied(_request.status.in_(DECLINED_STATUSES))
FIRST_BOOKED_AT = (
    select(func.min(_request.first_notified_at))
    .where(
        _request.tracked_link_id == TrackedLink.id,
        _request.status.in_(BOOKED_STATUSES),
        real_requests(_request.scheduling_request_id),
    )
    .scalar_subquery()
)


def state_condition(state: str) -> ColumnElement[bool]:
    """clicked_not_booked: a person clicked and no request has arrived; not_clicked: no
    person has clicked; booked: a tied request is booked (or rescheduled) now."""
    if state == CLICKED_NOT_BOOKED:
        return IS_CLICKED & ~HAS_REQUEST
    if state == NOT_CLICKED:
        return TrackedLink.first_clicked_at.is_(None)
    if state == BOOKED:
        return IS_BOOKED
    raise ValueError(f"unknown state {state!r}")
