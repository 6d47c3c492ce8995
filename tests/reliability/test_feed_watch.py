"""The live feed's cursor keeps watching the holes it gives up on (the fix for deliveries
applied after the gap grace, see test_live_streams.py). Pure: no database."""

from __future__ import annotations

from webapp.live.feed import MAX_WATCHED, FeedCursor


def test_given_up_ids_are_reported_and_a_watched_one_is_emitted_once_handled():
    feed = FeedCursor(10, grace=5)
    feed.observe([13], now=100)
    assert feed.advance(now=104) == 10 and feed.given_up == []
    assert feed.advance(now=105.5) == 13
    assert feed.given_up == [11, 12]
    feed.watch([12])  # the stream found 12 stored (pending); 11 never existed
    assert feed.observe([11], now=106) == []
    assert feed.observe([12, 14], now=106) == [12, 14]
    assert feed.observe([12], now=107) == []  # once only
    assert feed.watched == frozenset()
    assert feed.advance(now=107) == 14 and feed.given_up == []


def test_watch_ignores_ids_above_the_mark_and_is_bounded():
    feed = FeedCursor(5)
    feed.watch([6, 4])
    assert feed.watched == frozenset({4})
    feed = FeedCursor(10 * MAX_WATCHED)
    feed.watch(range(1, MAX_WATCHED + 11))
    assert len(feed.watched) == MAX_WATCHED
    assert min(feed.watched) == 11  # the oldest are forgotten first


def test_a_huge_hole_reports_only_its_newest_ids():
    feed = FeedCursor(0, grace=1)
    feed.observe([MAX_WATCHED * 5], now=0)
    feed.advance(now=2)
    assert len(feed.given_up) == MAX_WATCHED
    assert feed.given_up[-1] == MAX_WATCHED * 5 - 1
