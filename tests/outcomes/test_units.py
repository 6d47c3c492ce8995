"""The pure parts: meeting times, the click counters' arithmetic, chart geometry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from tests.outcomes import data
from tests.support import factories
from webapp.clicks import click_totals
from webapp.extensions import db
from webapp.insights.charts import day_chart, funnel_chart, nice_ceiling
from webapp.meetings import fill, meeting_time, meeting_times
from webapp.models import TrackedLink
from webapp.tracking.visits import PendingVisit, VisitRecorder

T = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-03T14:30:00Z", T),
        ("2026-03-03T20:00:00+05:30", T),
        ({"time": "2026-03-03T14:30:00Z", "tzid": "Etc/UTC"}, T),
        ({"time": "2026-03-03T06:30:00", "tzid": "America/Los_Angeles"}, T),
        ({"time": "2026-03-03T14:30:00", "tzid": "Nowhere/Special"}, T),  # unknown zone: UTC
        ("2026-03-03T14:30:00", T),  # no offset, no zone: Cronofy writes UTC
        ({"time": "2026-03-03", "tzid": "Asia/Kolkata"}, datetime(2026, 3, 2, 18, 30, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("soon", None),
        ({"tzid": "Europe/London"}, None),
        ({"time": 1741012200}, None),
        (["2026-03-03T14:30:00Z"], None),
        ("2026-03-03T14:30:00Z" + " " * 100, None),
        ("0001-01-01T00:00:00+05:00", None),
    ],
)
def test_meeting_time(value, expected):
    assert meeting_time(value) == expected


def test_an_end_is_kept_only_after_its_start():
    end = "2026-03-03T15:00:00Z"
    assert meeting_times("2026-03-03T14:30:00Z", end) == (T, T + timedelta(minutes=30))
    assert meeting_times(None, end) == (None, None)
    assert meeting_times("2026-03-03T14:30:00Z", "2026-03-03T14:00:00Z") == (T, None)


def test_fill_sets_the_columns_on_a_row_or_a_mapping():
    row = SimpleNamespace(
        event_start="2026-03-03T14:30:00Z",
        event_end=None,
        meeting_starts_at=None,
        meeting_ends_at=None,
    )
    assert fill(row).meeting_starts_at == T
    state = fill({"event_start": None, "event_end": "2026-03-03T14:30:00Z"})
    assert state["meeting_starts_at"] is None and state["meeting_ends_at"] is None


def visit(link_id, at, agent="human"):
    return PendingVisit(link_id, at, None, agent, "redirect")


def test_click_totals_count_people_per_link():
    totals = click_totals(
        [
            visit(1, T),
            visit(2, T, "bot"),
            visit(1, T - timedelta(hours=1)),
            visit(3, T, "head"),
            visit(1, T + timedelta(hours=1)),
        ]
    )
    assert totals == {1: (3, T - timedelta(hours=1), T + timedelta(hours=1))}


def test_a_buffered_batch_updates_each_link_once(app, admin):
    """The flush writes the batch's visits and one counter UPDATE per link, in one go."""
    with app.app_context():
        public = factories.make_public_link(admin.id)
        a = factories.make_tracked_link(public.id, "a", admin.id).id
        b = factories.make_tracked_link(public.id, "b", admin.id).id
    recorder = VisitRecorder(app, interval=3600)  # buffered; flushed by hand below
    for when, link, agent in [
        (T, a, "human"),
        (T, b, "preview"),
        (T + timedelta(minutes=1), a, "human"),
        (T, b, "human"),
    ]:
        recorder.record(visit(link, when, agent))
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement.split()[0], parameters if executemany else None))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert recorder.flush() == 4
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
            recorder.close()
        links = {link.id: link for link in db.session.query(TrackedLink)}
    updates = [s for s in statements if s[0] == "UPDATE"]
    assert len(updates) == 1 and len(updates[0][1]) == 2  # one executemany, one row per link
    assert (links[a].person_clicks, links[a].first_clicked_at, links[a].last_clicked_at) == (
        2,
        T,
        T + timedelta(minutes=1),
    )
    assert (links[b].person_clicks, links[b].first_clicked_at) == (1, T)
    # A later, earlier click (a slow worker's batch) moves the first click back, not the last.
    with app.app_context():
        data.visit(app, a, T - timedelta(days=1))
        link = db.session.get(TrackedLink, a)
        assert (link.person_clicks, link.first_clicked_at, link.last_clicked_at) == (
            3,
            T - timedelta(days=1),
            T + timedelta(minutes=1),
        )


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (11, 20), (120, 200), (501, 1000)]
)
def test_nice_ceilings(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_day_chart_bars_are_in_proportion():
    chart = day_chart([("Mon", 10, 5), ("Tue", 0, 0), ("Wed", 4, 4)])
    clicked = [bar for bar in chart.bars if bar.kind == "clicked"]
    booked = [bar for bar in chart.bars if bar.kind == "booked"]
    assert clicked[0].height == chart.plot_bottom - chart.plot_top  # the tallest fills the plot
    assert booked[0].height == pytest.approx(clicked[0].height / 2)
    assert clicked[1].height == 0 and clicked[2].height == booked[2].height
    assert [tick.text for tick in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert all(bar.y + bar.height == pytest.approx(chart.plot_bottom) for bar in chart.bars)


def test_funnel_bars_are_shares_of_the_first_stage():
    chart = funnel_chart(
        [("Created", 8, "links"), ("Clicked", 4, "clicked"), ("Booked", 0, "booked")]
    )
    widths = [row.bar.width for row in chart.rows]
    assert widths[1] == pytest.approx(widths[0] / 2) and widths[2] == 0
    assert [row.share for row in chart.rows] == ["100%", "50%", "0%"]
    empty = funnel_chart([("Created", 0, "links")])
    assert empty.rows[0].share == "–"
