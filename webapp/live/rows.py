"""One table row per Scheduling Request, rendered by the same Jinja macro everywhere.

The page, the live stream and (in spirit) the CSV export show the same values, so a row the
stream sends replaces a row the page rendered with nothing to reconcile, and escaping is
the template's autoescape in both places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import get_template_attribute

from webapp.extensions import db
from webapp.live.queries import RequestFilters, row_select
from webapp.meetings import meeting_of
from webapp.models import SchedulingRequest
from webapp.samples import is_test_request
from webapp.urls import request_url, tracked_link_path


@dataclass(frozen=True)
class RequestRow:
    """What one line of the Scheduling Requests table shows."""

    id: int
    scheduling_request_id: str
    status: str
    updated_at: datetime
    invitee_name: str
    invitee_email: str
    summary: str
    correlation_id: str | None
    tracked_link_id: int | None
    public_link_name: str | None
    owner: str | None
    notification_count: int
    meeting_starts_at: datetime | None
    meeting_ends_at: datetime | None
    # Changes whenever the row's content can change; the browser skips re-sent rows.
    version: str

    @property
    def is_test(self) -> bool:
        return is_test_request(self.scheduling_request_id)

    @property
    def detail_url(self) -> str:
        return request_url(self.scheduling_request_id)

    @property
    def tracked_link_url(self) -> str | None:
        if self.tracked_link_id is None:
            return None
        return tracked_link_path(self.tracked_link_id)


def first_recipient(recipients: Any) -> dict[str, Any]:
    """The first recipient as a dict; {} when the payload had none or an odd shape."""
    if isinstance(recipients, list) and recipients and isinstance(recipients[0], dict):
        return recipients[0]
    return {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def to_row(
    request: SchedulingRequest,
    public_link_name: str | None,
    owner_name: str | None,
    owner_email: str | None,
) -> RequestRow:
    invitee = first_recipient(request.recipients)
    starts_at, ends_at = meeting_of(request)
    return RequestRow(
        id=request.id,
        scheduling_request_id=request.scheduling_request_id,
        status=request.status,
        updated_at=request.updated_at,
        invitee_name=_text(invitee.get("display_name")),
        invitee_email=_text(invitee.get("email")),
        summary=_text(request.summary),
        correlation_id=request.correlation_id,
        tracked_link_id=request.tracked_link_id,
        public_link_name=public_link_name,
        owner=owner_name or owner_email,
        notification_count=request.notification_count or 0,
        meeting_starts_at=starts_at,
        meeting_ends_at=ends_at,
        version=f"{request.last_delivery_id}.{request.notification_count}."
        f"{request.updated_at.timestamp():.6f}",
    )


def rows_from_results(results: list[Any]) -> list[RequestRow]:
    """RequestRows from row_select() results."""
    return [to_row(*result) for result in results]


def load_rows(ids: list[int]) -> list[RequestRow]:
    """The rows for these primary keys, oldest activity first (so that the browser, which
    puts each arriving row on top, ends with the newest on top)."""
    if not ids:
        return []
    statement = row_select(RequestFilters()).where(SchedulingRequest.id.in_(ids))
    rows = rows_from_results(list(db.session.execute(statement)))
    return sorted(rows, key=lambda row: (row.updated_at, row.id))


def render_row(row: RequestRow) -> str:
    """The <tr> for a row, from the macro templates/live/index.html uses (autoescaped)."""
    macro = get_template_attribute("live/_row.html", "request_row")
    return str(macro(row)).strip()
