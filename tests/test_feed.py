"""The live feed: the pure low-water-mark cursor, and the SSE generator driven by next()."""

from __future__ import annotations

import json
from functools import partial

import pytest

from tests.support import factories
from tests.support.bookings import add_notification, apply_delivery, make_request
from webapp.auth import sessions
from webapp.extensions import db
from webapp.live.feed import MAX_NAMED_HOLES, FeedCursor, Unseen
from webapp.live.queries import RequestFilters
from webapp.live.stream import StreamSettings, event_stream, sse_message, start_cursor
from webapp.models import Delivery, User

# ---------------------------------------------------------------- the pure cursor


def test_cursor_advances_over_a_contiguous_run():
    feed = FeedCursor(10)
    assert feed.observe([11, 12, 13], now=0) == [11, 12, 13]
    assert feed.advance(now=0) == 13
    assert feed.emitted == frozenset()


def test_cursor_hole_blocks_until_filled():
    feed = FeedCursor(10)
    assert feed.observe([12, 13], now=0) == [12, 13]
    assert feed.advance(now=1) == 10  # 11 not handled yet
    assert feed.observe([12, 13], now=1) == []  # never emitted twice
    assert feed.observe([11, 12, 13], now=2) == [11]
    assert feed.advance(now=2) == 13


def test_cursor_gives_up_on_a_hole_after_the_grace_period():
    feed = FeedCursor(10, grace=5)
    feed.observe([12], now=100)
    assert feed.advance(now=104) == 10
    assert feed.advance(now=105.5) == 12
    assert feed.observe([11], now=106) == []  # below the mark: given up on


def test_cursor_skips_successive_holes_by_their_own_age():
    feed = FeedCursor(0, grace=5)
    feed.observe([2], now=0)
    feed.observe([4], now=4)
    assert feed.advance(now=6) == 2  # hole 1 is old; hole 3 only 2 s old
    assert feed.advance(now=9.5) == 4


def test_cursor_asks_only_for_ids_not_emitted_yet():
    feed = FeedCursor(10)
    assert feed.unseen() == Unseen(10, ())
    feed.observe([12, 13, 15], now=0)
    feed.advance(now=0)
    assert feed.unseen() == Unseen(15, (11, 14))
    feed.observe([11, 14], now=1)
    feed.advance(now=1)
    assert feed.unseen() == Unseen(15, ())


def test_cursor_with_too_many_holes_to_name_asks_for_everything_above_the_mark():
    feed = FeedCursor(0)
    feed.observe([MAX_NAMED_HOLES + 2], now=0)
    assert feed.unseen() == Unseen(0, ())


def test_cursor_ignores_ids_at_or_below_the_mark_and_negative_start():
    feed = FeedCursor(-5)
    assert feed.low == 0
    feed = FeedCursor(7)
    assert feed.observe([5, 7, 8, 8], now=0) == [8]


# ---------------------------------------------------------------- the wire format


def test_sse_message_splits_multi_line_data():
    assert sse_message("a\nb", "row", 5) == "event: row\nid: 5\ndata: a\ndata: b\n\n"
    assert sse_message("", None, None) == "data: \n\n"


# ---------------------------------------------------------------- the generator


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def parse(chunk: str) -> dict:
    """Fields of one SSE message; comments under 'comment'."""
    fields: dict = {"data": []}
    for line in chunk.rstrip("\n").split("\n"):
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "":
            fields["comment"] = value
        elif name == "data":
            fields["data"].append(value)
        else:
            fields[name] = value
    fields["data"] = "\n".join(fields["data"])
    return fields


SETTINGS = StreamSettings(poll_interval=0.25, heartbeat=15, max_duration=300, grace=5)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield app


def open_stream(cursor, filters=None, settings=SETTINGS, **kwargs):
    clock = FakeClock()
    stream = event_stream(
        filters or RequestFilters(), cursor, settings, clock=clock, sleep=clock.sleep, **kwargs
    )
    first = next(stream)
    assert first.startswith("retry: ")
    assert parse(first)["comment"] == "ping"
    return stream, clock


def next_message(stream) -> dict:
    return parse(next(stream))


def test_initial_ping_then_heartbeat(ctx):
    stream, clock = open_stream(0)
    started = clock.now
    message = next_message(stream)
    assert message["comment"] == "keep-alive"
    assert 15 <= clock.now - started < 15.5


def test_new_applied_delivery_sends_its_row_with_the_low_water_mark(ctx):
    stream, _ = open_stream(start_cursor())
    ref = make_request(summary="Fresh booking")
    message = next_message(stream)
    assert message["event"] == "row"
    assert int(message["id"]) == ref.delivery_ids[-1]
    data = json.loads(message["data"])
    assert data["id"] == ref.scheduling_request_id
    assert data["matches"] is True
    assert data["html"].startswith(f'<tr data-srq="{ref.scheduling_request_id}"')
    assert "Fresh booking" in data["html"]
    assert next_message(stream)["comment"] == "keep-alive"  # sent once only


def test_catch_up_from_a_cursor(ctx):
    before = make_request(summary="Seen already")
    after = make_request(summary="Missed while away")
    stream, _ = open_stream(before.delivery_ids[-1])
    message = next_message(stream)
    assert json.loads(message["data"])["id"] == after.scheduling_request_id
    assert int(message["id"]) == after.delivery_ids[-1]
    assert next_message(stream)["comment"] == "keep-alive"


def test_several_deliveries_of_one_request_in_one_poll_send_it_once(ctx):
    ref = make_request(notifications=3)
    stream, _ = open_stream(0)
    message = next_message(stream)
    assert json.loads(message["data"])["id"] == ref.scheduling_request_id
    assert int(message["id"]) == ref.delivery_ids[-1]
    assert next_message(stream)["comment"] == "keep-alive"


def test_rows_in_a_batch_come_oldest_change_first_and_only_the_last_moves_the_id(ctx):
    first = make_request(summary="one")
    second = make_request(summary="two")
    stream, _ = open_stream(0)
    one, two = next_message(stream), next_message(stream)
    assert json.loads(one["data"])["id"] == first.scheduling_request_id
    assert json.loads(two["data"])["id"] == second.scheduling_request_id
    # a drop between the two must not skip the second: the first still carries the old mark
    assert int(one["id"]) == 0
    assert int(two["id"]) == second.delivery_ids[-1]


def test_filters_mark_non_matching_rows(ctx):
    stream, _ = open_stream(0, RequestFilters(status="declined"))
    make_request(status="time_chosen")
    assert json.loads(next_message(stream)["data"])["matches"] is False
    make_request(status="declined")
    assert json.loads(next_message(stream)["data"])["matches"] is True


def test_owner_filter_uses_the_copied_user_id(ctx, staff):
    public_link = factories.make_public_link(owner_id=staff.id)
    link = factories.make_tracked_link(public_link.id, created_by_id=staff.id)
    stream, _ = open_stream(0, RequestFilters(owner_id=staff.id))
    make_request(tracked_link=link)
    assert json.loads(next_message(stream)["data"])["matches"] is True
    make_request()
    assert json.loads(next_message(stream)["data"])["matches"] is False


def test_out_of_order_commit_is_still_sent(ctx):
    a = make_request(summary="A")
    b = make_request(summary="B")
    cursor = b.delivery_ids[-1]
    stream, _ = open_stream(cursor)
    lower = add_notification(a.scheduling_request_id, pending=True)  # committed, not applied
    higher = add_notification(b.scheduling_request_id)
    assert lower < higher
    message = next_message(stream)
    assert json.loads(message["data"])["id"] == b.scheduling_request_id
    assert int(message["id"]) == cursor  # blocked by the pending lower id
    apply_delivery(lower)
    message = next_message(stream)
    assert json.loads(message["data"])["id"] == a.scheduling_request_id
    assert int(message["id"]) == higher


def test_gap_is_skipped_after_the_grace_period(ctx):
    a = make_request(summary="A")
    b = make_request(summary="B")
    cursor = b.delivery_ids[-1]
    stream, clock = open_stream(cursor)
    stuck = add_notification(a.scheduling_request_id, pending=True)
    higher = add_notification(b.scheduling_request_id)
    started = clock.now
    assert int(next_message(stream)["id"]) == cursor
    message = next_message(stream)
    assert message["event"] == "cursor"
    assert int(message["id"]) == higher
    assert 5 < clock.now - started < 6
    # the cursor moved on, but the stream keeps watching the delivery it gave up on
    apply_delivery(stuck)
    message = next_message(stream)
    assert json.loads(message["data"])["id"] == a.scheduling_request_id
    assert int(message["id"]) == higher
    assert next_message(stream)["comment"] == "keep-alive"


def test_failed_delivery_without_request_moves_the_cursor(ctx):
    stream, _ = open_stream(0)
    with_error = make_delivery_failed()
    message = next_message(stream)
    assert message["event"] == "cursor"
    assert int(message["id"]) == with_error


def make_delivery_failed() -> int:
    from tests.support.bookings import make_delivery

    return make_delivery(body=b"not json", status="failed", error="bad JSON")


def test_html_in_fields_is_escaped_in_the_row(ctx):
    stream, _ = open_stream(0)
    make_request(summary="<script>alert(1)</script>", invitee_name="<b>x</b>")
    html = json.loads(next_message(stream)["data"])["html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_stream_ends_after_its_maximum_duration(ctx):
    settings = StreamSettings(poll_interval=1, heartbeat=15, max_duration=40, grace=5)
    stream, clock = open_stream(0, settings=settings)
    chunks = list(stream)
    assert [parse(chunk)["comment"] for chunk in chunks] == ["keep-alive", "keep-alive"]
    assert 1040 <= clock.now < 1042


def signed_in_session(user_id: int) -> int:
    sessions.open_session(user_id, "test", "127.0.0.1")
    return sessions.open_sessions_of(user_id)[0].id


def test_stream_ends_when_its_session_is_revoked(ctx, staff):
    session_id = signed_in_session(staff.id)
    stream, _ = open_stream(0, still_signed_in=partial(sessions.is_open, session_id))
    assert next_message(stream)["comment"] == "keep-alive"
    assert sessions.revoke(staff.id, session_id)
    with pytest.raises(StopIteration):
        next(stream)


def test_stream_ends_when_the_user_is_deactivated(ctx, staff):
    session_id = signed_in_session(staff.id)
    stream, _ = open_stream(0, still_signed_in=partial(sessions.is_open, session_id))
    assert next_message(stream)["comment"] == "keep-alive"
    db.session.get(User, staff.id).active = False
    db.session.commit()
    with pytest.raises(StopIteration):
        next(stream)


def test_each_poll_ends_the_transaction(ctx):
    stream, _ = open_stream(0)
    make_request()
    next(stream)
    assert not db.session().in_transaction()


def test_start_cursor_waits_for_deliveries_in_flight(ctx):
    assert start_cursor() == 0
    ref = make_request()
    assert start_cursor() == ref.delivery_ids[-1]
    pending = add_notification(ref.scheduling_request_id, pending=True)
    later = make_request()
    assert start_cursor() == pending - 1
    apply_delivery(pending)
    assert start_cursor() == later.delivery_ids[-1]
    assert db.session.get(Delivery, pending).status == "applied"
