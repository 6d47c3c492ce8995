"""The sandbox's time slots, with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp.sandbox.slots import available_slots, by_day, find_slot


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def starts(now: datetime) -> list[str]:
    return [slot.key for slot in available_slots(now)]


def test_monday_before_nine_offers_monday_to_wednesday():
    keys = starts(at(2025, 1, 20, 7, 0))  # a Monday
    assert keys[:4] == [
        "2025-01-20T09:00:00Z",
        "2025-01-20T11:00:00Z",
        "2025-01-20T14:00:00Z",
        "2025-01-20T16:00:00Z",
    ]
    assert keys[-1] == "2025-01-22T16:00:00Z"
    assert len(keys) == 12


def test_slots_already_started_or_too_soon_are_not_offered():
    keys = starts(at(2025, 1, 20, 10, 50))
    assert keys[0] == "2025-01-20T14:00:00Z"  # 11:00 is only ten minutes away
    assert keys[-1] == "2025-01-22T16:00:00Z"  # Monday still counts: it has two left
    assert len(keys) == 10


def test_a_day_without_slots_left_does_not_count():
    keys = starts(at(2025, 1, 20, 15, 50))
    assert keys[0] == "2025-01-21T09:00:00Z"
    assert keys[-1] == "2025-01-23T16:00:00Z"


def test_friday_evening_skips_the_weekend():
    keys = starts(at(2025, 1, 24, 18, 0))  # a Friday
    days = sorted({key[:10] for key in keys})
    assert days == ["2025-01-27", "2025-01-28", "2025-01-29"]


def test_saturday_offers_monday_first():
    assert starts(at(2025, 1, 25, 12, 0))[0] == "2025-01-27T09:00:00Z"


def test_each_slot_is_thirty_minutes_in_utc():
    for slot in available_slots(at(2025, 1, 20, 7, 0)):
        assert (slot.end - slot.start).total_seconds() == 1800
        assert slot.start.tzinfo is UTC


def test_find_slot_only_finds_offered_ones():
    now = at(2025, 1, 20, 7, 0)
    assert find_slot("2025-01-20T09:00:00Z", now).start == at(2025, 1, 20, 9, 0)
    assert find_slot("2025-01-20T10:00:00Z", now) is None
    assert find_slot("2025-01-20T09:00:00Z", at(2025, 1, 20, 9, 30)) is None
    assert find_slot("garbage", now) is None


def test_by_day_groups_in_order():
    grouped = by_day(available_slots(at(2025, 1, 20, 7, 0)))
    assert [heading for heading, _ in grouped] == [
        "Monday 20 January",
        "Tuesday 21 January",
        "Wednesday 22 January",
    ]
    assert all(len(slots) == 4 for _, slots in grouped)


def test_naive_clock_is_refused():
    with pytest.raises(ValueError):
        available_slots(datetime(2025, 1, 20, 7, 0))
