"""The date range and filters of an insights question, read from a query string. Pure.

A range is whole local days in a time zone, both ends included: on the page the viewer's
zone, in the API UTC. Its instants are [first day's midnight, the day after the last's
midnight) in that zone, which the figures compare `created_at` with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo

from webapp.timezones import day_bounds, day_starts, local_today

DEFAULT_DAYS = 30
MAX_DAYS = 366
GROUPS = ("public_link", "owner", "utm_campaign", "utm_source", "day")
TEXT_FILTERS = ("utm_source", "utm_medium", "utm_campaign")
MAX_TEXT = 128  # UTM values are at most this long
MAX_ID = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 1970, 2999


class InvalidQuery(ValueError):
    """Something in the query string is not usable; `fields` names each problem."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date
    zone: tzinfo

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        return day_bounds(self.first, self.last, self.zone)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def day_starts(self) -> list[datetime]:
        """Each day's first instant in UTC, and the end of the last day."""
        return day_starts(self.first, self.last, self.zone)


@dataclass(frozen=True)
class Filters:
    """Narrow the tracked links counted; None is "any"."""

    public_link_id: int | None = None
    owner_id: int | None = None
    text: dict[str, str] = field(default_factory=dict)  # utm_source, utm_medium, utm_campaign

    def args(self) -> dict[str, str]:
        """As query-string arguments (the page's links, exports, saved filters)."""
        values = {"public_link": self.public_link_id, "owner": self.owner_id, **self.text}
        return {key: str(value) for key, value in values.items() if value not in (None, "")}


@dataclass(frozen=True)
class Question:
    range: DateRange
    filters: Filters
    group_by: str


def default_range(now: datetime, zone: tzinfo, days: int = DEFAULT_DAYS) -> DateRange:
    """The last `days` days up to and including today, in the zone."""
    today = local_today(now, zone)
    return DateRange(today - timedelta(days=days - 1), today, zone)


def parse_question(
    args: Mapping[str, str],
    *,
    now: datetime,
    zone: tzinfo,
    group_by: str = "public_link",
    filter_names: Mapping[str, str] | None = None,
) -> Question:
    """The question in the query string: `from`, `to` (YYYY-MM-DD), `group_by`, and the
    filters (`public_link`, `owner`, the three UTM names; `filter_names` renames them,
    e.g. the API's `public_link_id`). InvalidQuery names every bad field at once."""
    names = {"public_link": "public_link", "owner": "owner", **(filter_names or {})}
    errors: dict[str, str] = {}
    default = default_range(now, zone)
    first = _date(args, "from", errors)
    last = _date(args, "to", errors)
    if first is None and last is not None:
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    first = first or default.first
    last = last or (default.last if first <= default.last else first)
    if not errors:
        if last < first:
            errors["to"] = "must be the same day as `from` or later"
        elif (last - first).days + 1 > MAX_DAYS:
            errors["to"] = f"a range is at most {MAX_DAYS} days"
    chosen = (args.get("group_by") or group_by).strip()
    if chosen not in GROUPS:
        errors["group_by"] = "one of " + ", ".join(GROUPS)
    public_link_id = _identifier(args, names["public_link"], errors)
    owner_id = _identifier(args, names["owner"], errors)
    text = {}
    for name in TEXT_FILTERS:
        value = (args.get(name) or "").strip()
        if len(value) > MAX_TEXT or "\x00" in value:
            errors[name] = f"at most {MAX_TEXT} characters"
        elif value:
            text[name] = value
    if errors:
        raise InvalidQuery(errors)
    return Question(DateRange(first, last, zone), Filters(public_link_id, owner_id, text), chosen)


def _date(args: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = "a date as YYYY-MM-DD, e.g. 2026-03-01"
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:  # and the day after it exists in every zone
        errors[name] = f"a date between {FIRST_YEAR} and {LAST_YEAR}"
        return None
    return day


def _identifier(args: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 0 < int(raw) <= MAX_ID:
        errors[name] = "an id: a whole number"
        return None
    return int(raw)
