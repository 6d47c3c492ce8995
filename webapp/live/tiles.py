"""The overview tiles above the live table: today and the last 7 days, in the viewer's zone.

- bookings: Scheduling Requests first heard of in the period that are booked (or
  rescheduled) now, tied to a tracked link or not;
- person clicks: visits of tracked links by people (not bots or previews) in the period;
- conversion: the period's bookings through tracked links ÷ the tracked links a person
  clicked in the period (None without clicks);
- unmatched: requests tied to no tracked link, ever (the requests page lists them).

Test notifications (webapp/samples.py) count nowhere. Each figure is a COUNT over an index
range of the period (visits by agent and time, requests by first notification), so the
tiles cost what the last week holds, not what the tables hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import distinct, func, select

from webapp.clicks import PERSON
from webapp.extensions import db
from webapp.listing import Count, capped_count
from webapp.models import SchedulingRequest, Visit
from webapp.samples import real_requests
from webapp.statuses import BOOKED_STATUSES
from webapp.timezones import local_midnight, local_today


@dataclass(frozen=True)
class Period:
    label: str
    bookings: int
    person_clicks: int
    conversion: float | None


@dataclass(frozen=True)
class Overview:
    periods: list[Period]
    unmatched: Count


def _period(label: str, start: datetime, end: datetime) -> Period:
    booked = (
        SchedulingRequest.first_notified_at >= start,
        SchedulingRequest.first_notified_at < end,
        # Filtered, not searched: without statistics SQLite would walk the status index
        # (most rows are bookings) instead of the period's first_notified_at range, so the
        # tiles' cost would grow with all history (benchmarks/README.md, scale).
        func.coalesce(SchedulingRequest.status, "").in_(BOOKED_STATUSES),
        real_requests(),
    )
    bookings, through_links = db.session.execute(
        select(func.count(), func.count(SchedulingRequest.tracked_link_id)).where(*booked)
    ).one()
    clicks, clicked_links = db.session.execute(
        select(func.count(), func.count(distinct(Visit.tracked_link_id))).where(
            Visit.agent_class == PERSON, Visit.at >= start, Visit.at < end
        )
    ).one()
    conversion = through_links / clicked_links if clicked_links else None
    return Period(label, int(bookings), int(clicks), conversion)


def overview(now: datetime, zone: tzinfo) -> Overview:
    today = local_today(now, zone)
    end = now + timedelta(seconds=1)
    unmatched = capped_count(
        select(SchedulingRequest.id).where(
            SchedulingRequest.tracked_link_id.is_(None), real_requests()
        )
    )
    return Overview(
        periods=[
            _period("Today", local_midnight(today, zone), end),
            _period("Last 7 days", local_midnight(today - timedelta(days=6), zone), end),
        ],
        unmatched=unmatched,
    )
