"""One insights question answered: the figures a page, an export or the API shows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import exists, select

from webapp.extensions import db
from webapp.insights import figures
from webapp.insights.charts import DayChart, FunnelChart, day_chart, funnel_chart
from webapp.insights.figures import Counts, Group
from webapp.insights.ranges import Question
from webapp.models import PublicLink, TrackedLink, User

GROUP_TITLES = {
    "public_link": "Public Link",
    "owner": "Owner",
    "utm_campaign": "Campaign",
    "utm_source": "Source",
    "day": "Day created",
}
CSV_HEADER = ("key", "label", "links", "clicked", "booked", "declined", "conversion")


@dataclass(frozen=True)
class Report:
    question: Question
    totals: Counts
    median_seconds: float | None
    groups: list[Group]
    days: list[Group]
    day_chart: DayChart
    funnel: FunnelChart


def answer(question: Question) -> Report:
    """Totals, the chosen grouping, every day of the range, the median and both charts."""
    totals = figures.totals(question)
    days = figures.grouped(replace(question, group_by="day"))
    groups = days if question.group_by == "day" else figures.grouped(question)
    stages = [
        ("Created", totals.links, "links"),
        ("Clicked", totals.clicked, "clicked"),
        ("Booked", totals.booked, "booked"),
        ("Declined", totals.declined, "declined"),
    ]
    return Report(
        question=question,
        totals=totals,
        median_seconds=figures.median_seconds_to_book(question),
        groups=groups,
        days=days,
        day_chart=day_chart([(day.label, day.counts.clicked, day.counts.booked) for day in days]),
        funnel=funnel_chart(stages),
    )


def conversion_text(counts: Counts) -> str:
    value = counts.conversion
    return "–" if value is None else f"{value:.0%}"


def duration_text(seconds: float | None) -> str:
    """'3 h 20 min', '2 days 4 h', '12 min'; '–' when unknown."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def group_key(question: Question, group: Group) -> Any:
    """The key as the API and the CSV give it: ids, UTM text, or the day as YYYY-MM-DD."""
    if question.group_by == "day":
        return group.key.isoformat()
    return group.key


def item_json(question: Question, group: Group) -> dict[str, Any]:
    return {"key": group_key(question, group), "label": group.label, **counts_json(group.counts)}


def counts_json(counts: Counts) -> dict[str, Any]:
    conversion = counts.conversion
    return {
        "links": counts.links,
        "clicked": counts.clicked,
        "booked": counts.booked,
        "declined": counts.declined,
        "conversion": None if conversion is None else round(conversion, 4),
    }


def csv_rows(question: Question, groups: list[Group]) -> list[list[Any]]:
    rows = []
    for group in groups:
        values = counts_json(group.counts)
        key = group_key(question, group)
        rows.append(
            [
                "" if key is None else key,
                group.label,
                *(values[name] for name in CSV_HEADER[2:]),
            ]
        )
    return rows


def filter_choices() -> dict[str, list[tuple[int, str]]]:
    """The Public Links and the people who created tracked links, for the filter lists."""
    links = db.session.execute(select(PublicLink.id, PublicLink.name).order_by(PublicLink.name))
    # One index probe per user (created_by_id, created_at), not a scan of every link.
    has_links = exists().where(TrackedLink.created_by_id == User.id)
    owners = db.session.execute(
        select(User.id, User.name, User.email).where(has_links).order_by(User.name, User.email)
    )
    return {
        "public_links": [(row.id, row.name) for row in links],
        "owners": [(row.id, row.name or row.email) for row in owners],
    }
