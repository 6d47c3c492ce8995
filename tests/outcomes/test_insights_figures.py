"""Every insights figure's definition, on the hand-built data set (tests/outcomes/data.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.outcomes import data
from webapp.extensions import db
from webapp.insights import figures
from webapp.insights.ranges import DateRange, Filters, InvalidQuery, Question, parse_question
from webapp.models import TrackedLink

KOLKATA = ZoneInfo("Asia/Kolkata")


def question(zone=UTC, group_by="public_link", **filters) -> Question:
    return Question(
        DateRange(date(2026, 3, 1), date(2026, 3, 5), zone), Filters(**filters), group_by
    )


def counts(value: figures.Counts) -> dict:
    return {
        "links": value.links,
        "clicked": value.clicked,
        "booked": value.booked,
        "declined": value.declined,
        "conversion": value.conversion,
    }


@pytest.fixture
def dataset(app):
    with app.app_context():
        return data.build(app)


def test_totals_follow_the_definitions(app, dataset):
    with app.app_context():
        assert counts(figures.totals(question())) == data.EXPECTED_UTC


def test_the_click_counters_count_people_only(app, dataset):
    """Bots, link previews and HEAD requests are visits, never clicks."""
    with app.app_context():
        a = db.session.get(TrackedLink, dataset.links["a"])
        b = db.session.get(TrackedLink, dataset.links["b"])
        assert (a.person_clicks, b.person_clicks) == (2, 0)
        assert a.first_clicked_at == data.at("2026-03-01T11:00:00")
        assert a.last_clicked_at == data.at("2026-03-01T11:30:00")
        assert b.first_clicked_at is None


def test_range_edges_are_local_midnights(app, dataset):
    """1-5 March in Asia/Kolkata starts at 28 Feb 18:30 UTC and ends at 5 March 18:30 UTC."""
    with app.app_context():
        assert counts(figures.totals(question(KOLKATA))) == data.EXPECTED_KOLKATA
        by_day = figures.grouped(question(KOLKATA, "day"))
    assert [group.key for group in by_day] == [date(2026, 3, n) for n in range(1, 6)]
    assert [group.counts.links for group in by_day] == [2, 1, 1, 1, 1]  # H and A on 1 March


def test_days_in_utc(app, dataset):
    with app.app_context():
        by_day = figures.grouped(question(UTC, "day"))
    assert [group.counts.links for group in by_day] == [1, 1, 1, 1, 2]  # E and I on 5 March
    assert [group.counts.booked for group in by_day] == [1, 0, 0, 1, 0]


def test_a_booking_declined_later_is_declined_not_booked(app, dataset):
    with app.app_context():
        groups = {g.label: g.counts for g in figures.grouped(question(group_by="public_link"))}
    assert groups["Sales"] == figures.Counts(links=2, clicked=2, booked=1, declined=1)
    assert groups["Engineering"] == figures.Counts(links=4, clicked=2, booked=1, declined=0)


def test_test_notifications_and_unmatched_requests_count_nowhere(app, dataset):
    with app.app_context():
        only_e = figures.totals(question(public_link_id=dataset.pl1, owner_id=dataset.admin_id))
    # A (booked), E (a test notification only: not booked), I: not clicked.
    assert counts(only_e) == {
        "links": 3,
        "clicked": 2,
        "booked": 1,
        "declined": 0,
        "conversion": 0.5,
    }


@pytest.mark.parametrize(
    ("group_by", "expected"),
    [
        ("owner", {"Ada Admin": (4, 3, 1, 1), "Sam Staff": (2, 1, 1, 0)}),
        ("utm_campaign", {"spring": (2, 1, 1, 0), "fall": (2, 2, 1, 1), "(none)": (2, 1, 0, 0)}),
        ("utm_source", {"email": (3, 3, 2, 1), "linkedin": (1, 0, 0, 0), "(none)": (2, 1, 0, 0)}),
    ],
)
def test_groupings(app, dataset, group_by, expected):
    with app.app_context():
        groups = figures.grouped(question(group_by=group_by))
    found = {
        g.label: (g.counts.links, g.counts.clicked, g.counts.booked, g.counts.declined)
        for g in groups
    }
    assert found == expected


def test_filters_narrow_the_links(app, dataset):
    with app.app_context():
        spring = figures.totals(question(text={"utm_campaign": "spring"}))
        sales = figures.totals(question(public_link_id=dataset.pl2))
        staff = figures.totals(question(owner_id=dataset.staff_id))
    assert (spring.links, spring.booked) == (2, 1)
    assert (sales.links, sales.declined) == (2, 1)
    assert (staff.links, staff.clicked, staff.booked) == (2, 1, 1)


def test_median_time_from_first_click_to_booking(app, dataset):
    with app.app_context():
        assert figures.median_seconds_to_book(question()) == pytest.approx(data.MEDIAN_UTC, abs=1)
        one = figures.median_seconds_to_book(question(public_link_id=dataset.pl1))
        none = figures.median_seconds_to_book(question(text={"utm_campaign": "nothing"}))
    assert one == pytest.approx(2 * 3600, abs=1)
    assert none is None


def test_conversion_is_none_without_clicks(app, dataset):
    with app.app_context():
        nothing = figures.totals(question(text={"utm_source": "linkedin"}))
    assert (nothing.links, nothing.clicked, nothing.conversion) == (1, 0, None)


NOW = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # 11 March, 01:30 in Kolkata


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({"from": "2026-13-01"}, {"from"}),
        ({"to": "yesterday"}, {"to"}),
        ({"from": "2026-03-05", "to": "2026-03-01"}, {"to"}),
        ({"from": "2024-01-01", "to": "2026-03-01"}, {"to"}),
        ({"group_by": "colour"}, {"group_by"}),
        ({"public_link": "x", "owner": "-1"}, {"public_link", "owner"}),
        ({"utm_campaign": "x" * 129}, {"utm_campaign"}),
        ({"from": "0001-01-01"}, {"from"}),
    ],
)
def test_bad_questions_name_every_field(args, fields):
    with pytest.raises(InvalidQuery) as raised:
        parse_question(args, now=NOW, zone=UTC)
    assert set(raised.value.fields) == fields


def test_the_default_range_is_the_last_30_days_in_the_zone():
    utc = parse_question({}, now=NOW, zone=UTC).range
    kolkata = parse_question({}, now=NOW, zone=KOLKATA).range
    assert (utc.first, utc.last) == (date(2026, 2, 9), date(2026, 3, 10))
    assert (kolkata.first, kolkata.last) == (date(2026, 2, 10), date(2026, 3, 11))
    assert kolkata.bounds[0] == datetime(2026, 2, 9, 18, 30, tzinfo=UTC)
