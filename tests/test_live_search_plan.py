"""The search's terms and query shapes, and that the database answers them from indexes.

A search and the status choices must cost what they find, not the size of the table
(issue 5's scale figure): on SQLite, EXPLAIN QUERY PLAN must show index searches, never a
scan of scheduling_requests for the search part.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from tests.support.bookings import make_request
from webapp.extensions import db
from webapp.live.queries import (
    RequestFilters,
    after,
    conditions,
    fetch_page,
    row_select,
    status_choices,
)
from webapp.live.search import RARE_TERMS, prefix_upper_bound, query_words
from webapp.models import SchedulingRequest
from webapp.models.bookings import SchedulingRequestTerm
from webapp.models.search_terms import (
    MAX_TERM_LENGTH,
    MAX_TERMS,
    refresh_search_terms,
    search_terms,
)
from webapp.pagination import encode_cursor

EXAMPLE = {
    "recipients": [
        {"display_name": "Dr Emmet Brown", "email": "EB@Example.com"},
        {"display_name": None, "email": None},
        "not a recipient",
    ],
    "summary": "Product Manager Interview at Globex",
    "correlation_id": "Foo_bar-42",
}


def test_terms_of_a_request():
    terms = search_terms(EXAMPLE)
    assert terms[0] == "foo_bar-42"  # the most identifying first
    assert {"foo", "bar", "42"} <= set(terms)
    assert {"eb@example.com", "eb", "example.com", "@example.com", "example", "com"} <= set(terms)
    assert {"dr", "emmet", "brown", "product", "manager", "interview", "at", "globex"} <= set(terms)
    assert len(terms) == len(set(terms)) and all(term == term.lower() for term in terms)


def test_terms_strip_edge_punctuation_and_keep_the_word_as_typed():
    terms = set(search_terms({"summary": "(Globex), O'Brien: 100%", "recipients": []}))
    assert {"(globex),", "globex", "o'brien", "o", "brien", "o'brien:", "100%", "100"} <= terms


def test_terms_are_capped_in_number_and_length():
    many = [{"display_name": f"Name{n}", "email": f"p{n}@x{n}.test"} for n in range(500)]
    terms = search_terms({"recipients": many, "summary": "word " * 1000})
    assert len(terms) == MAX_TERMS
    long = search_terms({"correlation_id": "x" * 1000})
    assert long == ["x" * MAX_TERM_LENGTH]
    assert search_terms({}) == [] and search_terms({"recipients": None, "summary": 5}) == []


def test_query_words():
    assert query_words("  Emmet  BROWN emmet ") == ["emmet", "brown"]
    # a word that starts another word adds nothing: whatever matches "emmet" matches "em"
    assert query_words("em emmet e") == ["emmet"]
    assert query_words("") == []
    assert query_words("y" * 300) == ["y" * MAX_TERM_LENGTH]


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("abc", "abd"),
        ("a", "b"),
        ("é", "ê"),
        ("a\U0010ffff", "b"),
        ("\U0010ffff\U0010ffff", None),
        ("x\ud7ff", "x\ue000"),  # the next code point is a surrogate: skip them
    ],
)
def test_prefix_upper_bound(prefix, bound):
    assert prefix_upper_bound(prefix) == bound


def test_unicode_prefixes_match(app):
    with app.app_context():
        ref = make_request(invitee_name="Zoë Ångström", summary="Café ☕ meeting 😀x")
        for word in ("zo", "zoë", "ång", "ÅNGSTRÖM", "caf", "café", "☕", "😀", "😀x"):
            rows, _ = fetch_page(row_select(RequestFilters(text=word.lower())), None, 10)
            assert [row[0].id for row in rows] == [ref.id], word


def test_refresh_writes_only_the_difference(app):
    with app.app_context():
        ref = make_request(invitee_name="Ann Alpha", summary="one")
        table = SchedulingRequestTerm.__table__

        def stored() -> set[str]:
            where = table.c.scheduling_request_pk == ref.id
            return set(db.session.scalars(select(table.c.term).where(where)))

        assert {"ann", "alpha", "one"} <= stored()
        refresh_search_terms(db.session, ref.id, {"summary": "two", "recipients": []})
        db.session.commit()
        assert stored() == {"two"}
        with db.engine.begin() as connection:  # a Core connection works too
            refresh_search_terms(connection, ref.id, {"summary": "two three"})
        db.session.rollback()
        assert stored() == {"two", "three"}


# -- the plans (SQLite's EXPLAIN QUERY PLAN; PostgreSQL plans by statistics) -------------


def plan(statement) -> list[str]:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    compiled = statement.compile(
        dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters = tuple(compiled.params[name] for name in compiled.positiontup)
    rows = db.session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + str(compiled), parameters
    )
    return [row[3] for row in rows]


def assert_no_table_scan(details: list[str]) -> None:
    assert not [line for line in details if line.startswith("SCAN scheduling_requests")], details


@pytest.mark.parametrize(
    "filters",
    [
        RequestFilters(text="eb@example.com"),
        RequestFilters(text="emmet globex"),
        RequestFilters(text="emmet", status="time_chosen"),
        RequestFilters(text="emmet", status="declined", public_link_id=1, owner_id=1),
    ],
)
def test_a_rare_word_is_searched_in_the_term_index(app, filters):
    with app.app_context():
        make_request()
        statement = row_select(filters).limit(51)
        for shape in (statement, after(statement, encode_cursor("2025-01-01T00:00:00+00:00", 9))):
            details = plan(shape)
            assert (
                "SEARCH scheduling_request_terms USING COVERING INDEX "
                "ix_scheduling_request_terms_term (term>? AND term<?)"
            ) in details, details
            assert "SEARCH scheduling_requests USING INTEGER PRIMARY KEY (rowid=?)" in details
            assert_no_table_scan(details)


def test_a_common_word_walks_the_newest_first_index(app):
    """A word that starts RARE_TERMS or more terms fills a page from the newest rows,
    probing each row's own terms (no sort of every match)."""
    with app.app_context():
        common = make_request(summary="other").id
        newest = make_request(summary="common").id
        rows = [
            {"scheduling_request_pk": common, "term": f"common{n:05d}"} for n in range(RARE_TERMS)
        ]
        db.session.execute(insert(SchedulingRequestTerm), rows)
        db.session.commit()
        filters = RequestFilters(text="common")
        details = plan(row_select(filters).limit(51))
        assert any(
            "USING INDEX ix_scheduling_requests_updated" in line
            or "USING COVERING INDEX ix_scheduling_requests_updated" in line
            for line in details
        ), details
        assert "USE TEMP B-TREE FOR ORDER BY" not in details
        assert any("sqlite_autoindex_scheduling_request_terms_1" in line for line in details)
        found, _ = fetch_page(row_select(filters), None, 10)
        assert [row[0].id for row in found] == [newest, common]


def test_the_streams_recheck_starts_from_its_ids(app):
    with app.app_context():
        make_request()
        statement = select(SchedulingRequest.id).where(
            SchedulingRequest.id.in_([1, 2, 3]),
            *conditions(RequestFilters(text="emmet globex", status="x"), few_rows=True),
        )
        details = plan(statement)
        assert details[0] == "SEARCH scheduling_requests USING INTEGER PRIMARY KEY (rowid=?)"
        assert_no_table_scan(details)


# -- status choices ----------------------------------------------------------------------


def test_status_choices(app):
    with app.app_context():
        assert status_choices() == []
        assert status_choices("declined") == ["declined"]
        for status in ("time_chosen", "declined", "time_chosen", "zz_custom", "cancelled"):
            make_request(status=status)
        assert status_choices() == ["cancelled", "declined", "time_chosen", "zz_custom"]
        assert status_choices("rescheduled") == [
            "cancelled",
            "declined",
            "rescheduled",
            "time_chosen",
            "zz_custom",
        ]


def test_status_choices_seek_the_status_index(app):
    with app.app_context():
        from webapp.live.queries import PRESENT_STATUSES

        details = plan(PRESENT_STATUSES)
        assert any("ix_scheduling_requests_status_updated (status>?)" in d for d in details)
        assert_no_table_scan(details)
