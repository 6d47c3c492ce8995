"""The funnel of tracked links, in aggregate SQL: what happened to the links created in a
range, in total and grouped. Definitions (docs/architecture.md keeps them too):

- links: tracked links created in the range (and matching the filters);
- clicked: of those, opened at least once by a person (bots, link previews and HEAD
  requests are visits, not clicks): `TrackedLink.first_clicked_at` (webapp/clicks.py);
- booked: with at least one Scheduling Request tied to it (matched by correlation ID)
  whose status is now booked or rescheduled; a booking later declined no longer counts;
- declined: not booked, with at least one tied request now declined or cancelled;
- conversion: booked / clicked, None when nothing was clicked;
- median time to book: over the booked links clicked first, the median of (first
  booking's notification - first person click).

Test notifications (webapp/samples.py) and unmatched requests count nowhere: the first
are not bookings, the second belong to no link. Every figure is one aggregate query over
the range's links (index on created_at), each link's outcome an indexed lookup of its own
requests: the cost follows the links in the range, not the size of the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, select

from webapp.extensions import db
from webapp.insights.ranges import Question
from webapp.insights.sql import bucket, epoch_seconds
from webapp.models import PublicLink, TrackedLink, User
from webapp.outcomes import ANY_DECLINED, FIRST_BOOKED_AT, IS_BOOKED, IS_CLICKED

NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Counts:
    links: int = 0
    clicked: int = 0
    booked: int = 0
    declined: int = 0

    @property
    def conversion(self) -> float | None:
        return self.booked / self.clicked if self.clicked else None


@dataclass(frozen=True)
class Group:
    key: Any  # a Public Link's or owner's id, a UTM value, a day (None: none)
    label: str
    counts: Counts


def link_conditions(question: Question) -> list[ColumnElement[bool]]:
    start, end = question.range.bounds
    filters = question.filters
    clauses = [TrackedLink.created_at >= start, TrackedLink.created_at < end]
    if filters.public_link_id is not None:
        clauses.append(TrackedLink.public_link_id == filters.public_link_id)
    if filters.owner_id is not None:
        clauses.append(TrackedLink.created_by_id == filters.owner_id)
    for name, value in filters.text.items():
        clauses.append(getattr(TrackedLink, name) == value)
    return clauses


def _per_link(question: Question, *keys: ColumnElement[Any]) -> Subquery:
    """One row per link in the range: its keys and 0/1 flags (each lookup done once)."""
    return (
        select(
            *keys,
            case((IS_CLICKED, 1), else_=0).label("clicked"),
            case((IS_BOOKED, 1), else_=0).label("booked"),
            case((ANY_DECLINED, 1), else_=0).label("any_declined"),
        )
        .where(*link_conditions(question))
        .subquery("per_link")
    )


def _sums(links: Subquery) -> list[ColumnElement[Any]]:
    declined = case((and_(links.c.booked == 0, links.c.any_declined == 1), 1), else_=0)
    return [
        func.count().label("links"),
        func.coalesce(func.sum(links.c.clicked), 0).label("clicked"),
        func.coalesce(func.sum(links.c.booked), 0).label("booked"),
        func.coalesce(func.sum(declined), 0).label("declined"),
    ]


def _counts(row: Any) -> Counts:
    return Counts(int(row.links), int(row.clicked), int(row.booked), int(row.declined))


def totals(question: Question) -> Counts:
    links = _per_link(question, TrackedLink.id)
    return _counts(db.session.execute(select(*_sums(links))).one())


def grouped(question: Question) -> list[Group]:
    """The figures per Public Link, owner, campaign, source or day (question.group_by)."""
    if question.group_by == "day":
        return _by_day(question)
    column = {
        "public_link": TrackedLink.public_link_id,
        "owner": TrackedLink.created_by_id,
        "utm_campaign": TrackedLink.utm_campaign,
        "utm_source": TrackedLink.utm_source,
    }[question.group_by]
    links = _per_link(question, column.label("key"))
    sums = select(links.c.key, *_sums(links)).group_by(links.c.key).subquery("sums")
    statement: Select[Any]
    if question.group_by == "public_link":
        statement = select(sums, PublicLink.name.label("label")).outerjoin(
            PublicLink, PublicLink.id == sums.c.key
        )
    elif question.group_by == "owner":
        statement = select(
            sums, func.coalesce(func.nullif(User.name, ""), User.email).label("label")
        ).outerjoin(User, User.id == sums.c.key)
    else:
        statement = select(sums, sums.c.key.label("label"))
    statement = statement.order_by(sums.c.booked.desc(), sums.c.links.desc(), sums.c.key)
    return [
        Group(row.key, row.label or _missing_label(question.group_by), _counts(row))
        for row in db.session.execute(statement)
    ]


def _missing_label(group_by: str) -> str:
    return "No owner" if group_by == "owner" else NONE_LABEL


def _by_day(question: Question) -> list[Group]:
    """Every day of the range (empty ones too, for the chart), in order."""
    days = question.range.days
    links = _per_link(
        question, bucket(TrackedLink.created_at, question.range.day_starts()).label("key")
    )
    rows = db.session.execute(select(links.c.key, *_sums(links)).group_by(links.c.key))
    found = {int(row.key): _counts(row) for row in rows}
    return [
        Group(day, _day_label(day), found.get(index, Counts())) for index, day in enumerate(days)
    ]


def _day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def median_seconds_to_book(question: Question) -> float | None:
    """The median of (first booking - first person click) over the booked links clicked
    before their booking; None when there are none. Reads at most two values."""
    waits = (
        select(
            (epoch_seconds(FIRST_BOOKED_AT) - epoch_seconds(TrackedLink.first_clicked_at)).label(
                "wait"
            )
        )
        .where(*link_conditions(question), IS_CLICKED)
        .subquery("waits")
    )
    known = waits.c.wait.is_not(None) & (waits.c.wait >= 0)
    count = db.session.execute(select(func.count()).select_from(waits).where(known)).scalar_one()
    if not count:
        return None
    middle = select(waits.c.wait).where(known).order_by(waits.c.wait)
    values = (
        db.session.execute(middle.offset((count - 1) // 2).limit(2 - count % 2)).scalars().all()
    )
    return sum(float(value) for value in values) / len(values)
