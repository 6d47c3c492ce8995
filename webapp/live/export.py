"""CSV export of exactly the rows the dashboard's filters select, every page of them.

Times are ISO-8601 UTC, whoever exports; `event_start` / `event_end` are the meeting's,
blank when no notification said. Test notifications (webapp/samples.py) are never
exported (the view asks for that). Streamed a keyset batch at a time so that a large
export needs neither memory nor a long transaction. Cells that a spreadsheet would run
as a formula are neutralised (OWASP's "CSV injection" advice): Cronofy relays whatever
an invitee typed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from webapp.live.queries import RequestFilters, iterate_all, row_select
from webapp.live.rows import to_row
from webapp.templating import iso_utc

HEADER = (
    "updated_at",
    "status",
    "invitee_name",
    "invitee_email",
    "summary",
    "correlation_id",
    "matched",
    "public_link",
    "owner",
    "notification_count",
    "scheduling_request_id",
    "first_notified_at",
    "event_start",
    "event_end",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would evaluate gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _line(values: tuple[Any, ...] | list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([neutralise(value) for value in values])
    return buffer.getvalue()


def csv_lines(filters: RequestFilters) -> Iterator[str]:
    """The header, then one line per Scheduling Request, newest activity first."""
    yield _line(HEADER)
    for result in iterate_all(row_select(filters)):
        request = result[0]
        row = to_row(*result)
        yield _line(
            [
                iso_utc(row.updated_at),
                row.status,
                row.invitee_name,
                row.invitee_email,
                row.summary,
                row.correlation_id or "",
                "yes" if row.tracked_link_id is not None else "no",
                row.public_link_name or "",
                row.owner or "",
                row.notification_count,
                row.scheduling_request_id,
                iso_utc(request.first_notified_at),
                iso_utc(row.meeting_starts_at),
                iso_utc(row.meeting_ends_at),
            ]
        )
