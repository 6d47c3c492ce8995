"""Keyset windows with previous and next, the page-size choice and the capped count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support import factories
from webapp.extensions import db
from webapp.links import queries, windows
from webapp.listing import PageRequest, capped_count, make_pager
from webapp.models import TrackedLink, utcnow
from webapp.pagination import InvalidCursor


@pytest.fixture
def links(app):
    """23 tracked links; created_at ties in threes, so the id must break them."""
    now = utcnow()
    with app.app_context():
        public_link = factories.make_public_link()
        ids = []
        for number in range(23):
            link = factories.make_tracked_link(public_link.id, f"l-{number:02d}")
            ids.append(link.id)
        for number, link_id in enumerate(ids):
            db.session.get(TrackedLink, link_id).created_at = now - timedelta(minutes=number // 3)
        db.session.commit()
    # Newest first; within a minute the later id first.
    return sorted(
        (f"l-{n:02d}" for n in range(23)), key=lambda name: (int(name[2:]) // 3, -int(name[2:]))
    )


def window(request: PageRequest):
    return windows.tracked_links_window(queries.LinkFilters(), request)


def names(found) -> list[str]:
    return [link.correlation_id for link in found.items]


def test_forward_and_back_cover_every_row_once(app, links):
    with app.test_request_context():
        first = window(PageRequest(size=10))
        assert names(first) == links[:10] and first.prev_cursor is None and first.start == 1
        second = window(PageRequest(after=first.next_cursor, start=11, size=10))
        assert names(second) == links[10:20] and second.start == 11
        third = window(PageRequest(after=second.next_cursor, start=21, size=10))
        assert names(third) == links[20:] and third.next_cursor is None
        back = window(PageRequest(before=third.prev_cursor, start=11, size=10))
        assert names(back) == links[10:20] and back.start == 11
        assert back.next_cursor and back.prev_cursor
        # Back to the start shows the first page itself, however the rows fell.
        start = window(PageRequest(before=back.prev_cursor, start=1, size=10))
        assert names(start) == links[:10] and start.prev_cursor is None and start.start == 1


def test_pager_says_where_one_is(app, links):
    with app.test_request_context():
        total = capped_count(select(TrackedLink.id))
        wanted = PageRequest(size=25)
        pager = make_pager(
            window(wanted), wanted, "links.tracked_links", {"q": "l"}, total, "links"
        )
        assert (pager.first, pager.last, pager.total_text) == (1, 23, "23")
        assert pager.prev_url is None and pager.next_url is None and pager.shows_everything
        small = PageRequest.from_args({"per_page": "25"})
        assert small.size == 25 and small.size_args() == {"per_page": "25"}
        page = window(PageRequest(size=10))
        pager = make_pager(page, PageRequest(size=10), "links.tracked_links", {"q": "l"}, total)
        assert pager.next_url.startswith("/links?q=l&per_page=10&cursor=")
        assert pager.next_url.endswith("&start=11")


def test_the_count_stops_at_its_cap(app, links):
    with app.app_context():
        capped = capped_count(select(TrackedLink.id), cap=20)
        assert (capped.value, capped.capped) == (20, True)
        exact = capped_count(select(TrackedLink.id), cap=23)
        assert (exact.value, exact.capped) == (23, False)
    with app.test_request_context():
        wanted = PageRequest(size=10)
        pager = make_pager(window(wanted), wanted, "links.tracked_links", {}, capped)
        assert pager.total_text == "20+"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, (None, None, 1, 50)),
        ({"cursor": "abc", "start": "51", "per_page": "100"}, ("abc", None, 51, 100)),
        ({"before": "abc", "start": "0"}, (None, "abc", 1, 50)),
        ({"cursor": "a", "before": "b"}, ("a", None, 1, 50)),
        ({"start": "99"}, (None, None, 1, 50)),  # no cursor: the first page
        ({"per_page": "7"}, (None, None, 1, 50)),  # not a choice on offer
        ({"per_page": "²"}, (None, None, 1, 50)),
    ],
)
def test_page_requests_from_the_query_string(args, expected):
    wanted = PageRequest.from_args(args)
    assert (wanted.after, wanted.before, wanted.start, wanted.size) == expected


def test_cursors_this_app_did_not_make_are_refused(app, links):
    with app.app_context(), pytest.raises(InvalidCursor):
        window(PageRequest(after="not-a-cursor"))
    with app.app_context(), pytest.raises(InvalidCursor):
        window(PageRequest(before="WzEsMl0"))  # [1, 2]: not (time, id)


@pytest.mark.parametrize("value", [True, -1, 2**31, 1.5, "7", None])
def test_a_one_column_id_cursor_holds_a_database_id(value):
    """True is an int to Python, not an id; nor are numbers an INTEGER key cannot hold."""
    from webapp.listing import one_column_keyset
    from webapp.pagination import encode_cursor

    keyset = one_column_keyset(TrackedLink.id, lambda link: link.id, descending=True)
    assert keyset.decode(encode_cursor(7)) == (7,)
    with pytest.raises(InvalidCursor):
        keyset.decode(encode_cursor(value))
