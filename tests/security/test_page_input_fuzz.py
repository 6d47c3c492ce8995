"""Property-based fuzzing of the pages' inputs: query strings and form fields.

The JSON API has its own fuzz (test_api_fuzz.py); the pages take the same hostile input
through filters, cursors and forms. A page answers, redirects or shows field errors; a 500
is a bug.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.security.strategies import (
    cursors,
    fuzz,
    hostile_text,
    iso_times,
    json_values,
    nested_cursor,
)
from tests.support.signin import bearer, sign_in
from webapp.pagination import encode_cursor

PAGE_STATUSES = {200, 302, 303, 400, 403, 404, 409, 413, 422, 429}
PAGES = [
    "/requests/srq_%00",
    "/requests/" + "x" * 300,
    "/",
    "/requests/export.csv",
    "/links",
    "/links/export.csv",
    "/links/new",
    "/links/bulk",
    "/public-links",
    "/public-links/new",
    "/events",
    "/users",
    "/tokens",
    "/settings",
    "/audit",
    "/audit/export.csv",
    # Issue 11: outcomes.
    "/insights",
    "/insights/export.csv",
    "/live/tiles",
    "/links/1/qr.png",
    "/settings/webhooks",
    "/settings/webhooks/1",  # the world's endpoint: its delivery log pages
    "/alerts/silence",
    "/account",
]
values = st.one_of(
    hostile_text,
    iso_times,
    st.integers().map(str),
    st.sampled_from(["mine", "all", "time_chosen", "failed", "1", "9" * 30, "²"]),
)
query_strings = st.fixed_dictionaries(
    {},
    optional={
        "q": values,
        "status": values,
        "owner": values,
        "public_link": values,
        "cursor": st.one_of(cursors, values),
        "name": values,
        "url": values,
        "next": values,
        # The audit log's filters (issue 12 §4)
        "actor": values,
        "action": values,
        "target_type": values,
        "from": values,
        "to": values,
        # Issue 11: follow-up lists, the requests table's order, insights, QR codes
        "state": values,
        "idle_hours": values,
        "match": values,
        "sort": values,
        "tests": values,
        "group_by": values,
        "utm_campaign": values,
        "scale": values,
        # Every list's keyset window and page size (webapp/listing.py)
        "before": st.one_of(cursors, values),
        "start": values,
        "per_page": values,
        # The rest of the pages' parameters: the bulk upload's batch, the sandbox's
        # confirmation choices, and one no page reads
        "batch": values,
        "public_link_id": values,
        "correlation_id": values,
        "updated_since": values,
        "reschedule": values,
        "decline": values,
        "unknown": values,
    },
)


@pytest.fixture
def browser(world):
    """One signed-in admin for all of a test's examples (failed sign-ins are throttled)."""
    return sign_in(world.app.test_client(), "admin@example.com")


def answered(response, what: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code in PAGE_STATUSES, (
        f"{what} -> {response.status_code}: {response.get_data(as_text=True)[:300]}"
    )
    # Still signed in: a redirect to the sign-in page would hide every later answer.
    assert urlsplit(response.headers.get("Location", "")).path != "/login", what


@fuzz(200)
@given(path=st.sampled_from(PAGES), query=query_strings)
@example(path="/", query={"public_link": "99999999999999999999999"})
@example(path="/", query={"public_link": "²"})
@example(path="/", query={"q": "a\x00b", "status": "\x00"})
@example(path="/events", query={"cursor": encode_cursor(2**64)})
@example(path="/users", query={"cursor": encode_cursor("\x00")})
@example(path="/", query={"cursor": encode_cursor("9999-12-31T23:59:59-23:59", 1)})
@example(path="/", query={"cursor": encode_cursor("2025-01-01T00:00:00Z", 2**64)})
@example(path="/audit", query={"from": "9999-12-31", "to": "0001-01-01T00:00:00+23:59"})
@example(path="/audit/export.csv", query={"q": "%_\\", "actor": "\x00b"})
@example(path="/audit", query={"cursor": encode_cursor("0001-01-01T00:00:00+23:59", 1)})
@example(path="/insights", query={"from": "9999-12-31", "to": "0001-01-01", "group_by": "day"})
@example(path="/links", query={"state": "clicked_not_booked", "idle_hours": "99999999"})
@example(path="/", query={"sort": "upcoming", "cursor": encode_cursor("x", 1)})
@example(path="/audit", query={"before": encode_cursor("2025-01-01T00:00:00Z", 1), "start": "9"})
@example(path="/settings/webhooks/1", query={"before": encode_cursor(2**64), "per_page": "25"})
@example(path="/", query={"cursor": nested_cursor(100_000)})
@example(path="/links", query={"before": nested_cursor(100_000)})
def test_pages_answer_any_query_string(browser, path, query):
    response = browser.get(path, query_string=query)
    answered(response, f"GET {path} {query!r:.300}")
    response.close()


event_ids = st.one_of(
    st.none(),
    # A header value cannot carry a line break (the test client refuses to send one).
    values.map(lambda text: text.replace("\r", " ").replace("\n", " ")),
    st.integers(min_value=-1, max_value=2**70).map(str),
    st.sampled_from(["²", "٣", "9" * 5000, " 7 ", "", "1e3", "0x10"]),
)


@fuzz(60)
@given(last_event_id=event_ids, query=query_strings)
@example(last_event_id="²", query={})
@example(last_event_id=None, query={"cursor": "9" * 5000})
def test_live_stream_answers_any_event_id(browser, last_event_id, query):
    """/live/stream: a stream (200) or a plain 400 for an id this stream never sent."""
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    response = browser.get("/live/stream", headers=headers, query_string=query, buffered=False)
    try:
        answered(response, f"GET /live/stream {last_event_id!r:.100} {query!r:.300}")
        assert response.status_code in {200, 400}, response.status_code
    finally:
        response.close()


form_values = st.one_of(hostile_text, iso_times, st.integers().map(str), json_values.map(str))
FORMS = {
    "/public-links/new": ("name", "url"),
    "/links/new": (
        "public_link_id",
        "correlation_id",
        "label",
        "utm_source",
        "utm_campaign",
        "expires_at",
        "allow_repeat_bookings",
    ),
    "/users": ("email", "name", "role", "password", "password_confirm"),
    "/tokens": ("name",),
    "/account/password": ("current_password", "new_password", "new_password_confirm"),
    "/login": ("email", "password", "next"),
    "/account/time-zone": ("time_zone", "next"),
    "/views": ("page", "name", "query", "shared", "next"),
    "/links/selected": ("ids", "action", "expires_at", "days", "confirm", "next"),
}


@st.composite
def form_posts(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    path = draw(st.sampled_from(sorted(FORMS)))
    fields = draw(st.fixed_dictionaries({}, optional={name: form_values for name in FORMS[path]}))
    extra = draw(st.dictionaries(st.text(max_size=8), form_values, max_size=2))
    return path, {**extra, **fields}


@fuzz(200)
@given(post=form_posts())
@example(post=("/links/new", {"public_link_id": "1", "expires_at": "9999-12-31T23:59"}))
@example(post=("/users", {"email": "a\x00@example.com", "name": "\x00", "role": "\x00"}))
@example(post=("/login", {"email": "a\x00@example.com", "password": "\x00"}))
@example(
    post=("/links/selected", {"ids": "1", "action": "set_expiry", "expires_at": "9999-12-31T23:59"})
)
@example(post=("/links/selected", {"ids": "1", "action": "extend_expiry", "days": "99999"}))
@example(post=("/views", {"page": "links", "name": "\x00", "query": "q=\x00"}))
def test_forms_answer_any_fields(browser, post):
    path, data = post
    response = browser.post(path, data=data)
    answered(response, f"POST {path} {data!r:.300}")


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_ids_no_database_key_can_hold_name_nothing(world, browser, number):
    """Every `<int:...>` route, page or API, GET or POST: 404, never the database's error."""
    checked = []
    for rule in world.app.url_map.iter_rules():
        if not rule.arguments or any(
            type(rule._converters[name]).__name__ != "DatabaseIdConverter"
            for name in rule.arguments
        ):
            continue
        path = re.sub(r"<int:\w+>", str(number), rule.rule)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        response = browser.open(path, method=method, headers=bearer(world.admin_token))
        assert response.status_code == 404, (method, path, response.status_code)
        checked.append(path)
    assert len(checked) >= 10, checked
