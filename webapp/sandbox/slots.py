"""The times the sandbox offers. Pure: the clock is an argument."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

SLOT_HOURS = (9, 11, 14, 16)
SLOT_MINUTES = 30
DAYS_OFFERED = 3
# Never offer a slot that starts in less than this: nobody books a meeting for right now.
MIN_NOTICE = timedelta(minutes=15)


class Slot(NamedTuple):
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The value a form posts back: ISO-8601 UTC with Z."""
        return format_slot_key(self.start)


def format_slot_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def available_slots(now: datetime) -> list[Slot]:
    """Slots at 09:00, 11:00, 14:00 and 16:00 UTC on the next three weekdays that still
    have one, each starting at least MIN_NOTICE after `now`, in time order."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    earliest = now + MIN_NOTICE
    slots: list[Slot] = []
    days = 0
    day = now.date()
    while days < DAYS_OFFERED:
        if day.weekday() < 5:
            starts = [datetime.combine(day, time(hour), tzinfo=UTC) for hour in SLOT_HOURS]
            todays = [
                Slot(start, start + timedelta(minutes=SLOT_MINUTES))
                for start in starts
                if start >= earliest
            ]
            if todays:
                slots.extend(todays)
                days += 1
        day += timedelta(days=1)
    return slots


def find_slot(key: str, now: datetime) -> Slot | None:
    """The offered slot whose key is `key`, or None if it is not (or no longer) offered."""
    for slot in available_slots(now):
        if slot.key == key:
            return slot
    return None


def by_day(slots: list[Slot]) -> list[tuple[str, list[Slot]]]:
    """Slots grouped under a day heading such as 'Monday 20 January', in order."""
    days: list[tuple[str, list[Slot]]] = []
    for slot in slots:
        heading = slot.start.strftime("%A %d %B").replace(" 0", " ")
        if not days or days[-1][0] != heading:
            days.append((heading, []))
        days[-1][1].append(slot)
    return days
