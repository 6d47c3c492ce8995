"""Property-based fuzzing of every JSON API input (the error contract in docs/architecture.md).

Bodies for POST/PATCH with random types and values in every field plus unknown fields,
bodies that are not objects, not JSON or not declared as JSON, and random query strings on
every list. Whatever comes in: a status from the documented set, never a 500, always JSON,
and every error in the documented shape.
"""

from __future__ import annotations

import json
from typing import Any

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
from tests.support.api import check_answer
from tests.support.config import TEST_DATABASE_URL
from tests.support.signin import bearer
from webapp.pagination import encode_cursor

ON_POSTGRESQL = bool(TEST_DATABASE_URL)

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


# -- bodies ---------------------------------------------------------------------------------

ids = st.one_of(st.integers(min_value=-2, max_value=4), st.integers(), json_values)
booleans = st.one_of(st.booleans(), json_values)
cronofy_urls = st.one_of(
    st.builds(
        lambda host, code: f"https://{host}/pls/{code}",
        st.sampled_from(
            ["app.cronofy.com", "app-uk.cronofy.com", "evil.example", "APP.CRONOFY.COM"]
        ),
        st.text(alphabet="AbC12_-/?#@%.:", min_size=0, max_size=12),
    ),
    st.sampled_from(
        [
            "https://app.cronofy.com/pls/Q5-ZDPM8",
            "https://app.cronofy.com@evil.example/pls/x",
            "https://app.cronofy.com.evil.example/pls/x",
            "javascript:alert(1)",
            "http://app.cronofy.com/pls/x",
            "https://app.cronofy.com/pls/x?claim_token=1",
        ]
    ),
)
unknown_fields = st.dictionaries(
    st.one_of(st.text(max_size=10), st.sampled_from(["id", "owner_id", "slug", "click_count"])),
    json_values,
    max_size=2,
)


def body_of(known: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    """Any subset of the known fields, each any value, plus maybe unknown fields."""
    return st.builds(
        lambda fields, extra: {**extra, **fields},
        st.fixed_dictionaries({}, optional=known),
        st.one_of(st.just({}), unknown_fields),
    )


public_link_bodies = body_of(
    {
        "name": st.one_of(hostile_text, json_values),
        "url": st.one_of(cronofy_urls, json_values),
        "active": booleans,
    }
)
utm_objects = st.one_of(
    json_values,
    st.dictionaries(
        st.one_of(st.sampled_from(UTM_KEYS), st.text(max_size=8)),
        st.one_of(hostile_text, json_values),
        max_size=6,
    ),
)
tracked_link_bodies = body_of(
    {
        "public_link_id": ids,
        "correlation_id": st.one_of(
            hostile_text, st.sampled_from(["dup-me", " dup-me ", "DUP-ME"]), json_values
        ),
        "label": st.one_of(hostile_text, json_values),
        "utm": utm_objects,
        "expires_at": st.one_of(iso_times, json_values),
        "disabled": booleans,
        "allow_repeat_bookings": booleans,
    }
)


def as_request(body: Any, kind: int) -> dict[str, Any]:
    """The body sent in one of several ways: JSON, raw bytes, or undeclared."""
    if kind == 0 or not isinstance(body, (dict, list)):
        return {"data": json.dumps(body), "content_type": "application/json"}
    if kind == 1:
        return {"data": json.dumps(body), "content_type": "text/plain"}
    if kind == 2:
        return {"data": json.dumps(body)[:-1], "content_type": "application/json"}  # cut short
    return {"json": body}


DEEP = "[" * 50_000 + "]" * 50_000


@fuzz(250)
@given(
    target=st.sampled_from(["/api/v1/public-links", "patch-public"]),
    body=st.one_of(public_link_bodies, json_values),
    kind=st.integers(min_value=0, max_value=3),
    link_id=st.one_of(st.just(None), st.integers(min_value=0, max_value=2**64)),
)
@example(target="/api/v1/public-links", body={"name": "x", "url": DEEP}, kind=3, link_id=None)
def test_public_link_bodies(world, target, body, kind, link_id):
    client = world.app.test_client()
    path = target
    method = "POST"
    if target == "patch-public":
        method = "PATCH"
        path = f"/api/v1/public-links/{world.public_link_id if link_id is None else link_id}"
    response = client.open(
        path, method=method, headers=bearer(world.admin_token), **as_request(body, kind)
    )
    check_answer(response, f"{method} {path} {body!r:.200}")


@fuzz(300)
@given(
    patch=st.booleans(),
    body=st.one_of(tracked_link_bodies, json_values),
    kind=st.integers(min_value=0, max_value=3),
    link_id=st.one_of(st.just(None), st.integers(min_value=0, max_value=2**64)),
)
def test_tracked_link_bodies(world, patch, body, kind, link_id):
    client = world.app.test_client()
    method, path = "POST", "/api/v1/tracked-links"
    if patch:
        method = "PATCH"
        path = f"/api/v1/tracked-links/{world.tracked_link_id if link_id is None else link_id}"
    response = client.open(
        path, method=method, headers=bearer(world.admin_token), **as_request(body, kind)
    )
    check_answer(response, f"{method} {path} {body!r:.200}")


def test_deeply_nested_and_oversized_bodies_get_json_errors(world):
    client = world.app.test_client()
    headers = bearer(world.admin_token)
    targets = [
        ("POST", "/api/v1/public-links"),
        ("PATCH", f"/api/v1/public-links/{world.public_link_id}"),
        ("POST", "/api/v1/tracked-links"),
        ("PATCH", f"/api/v1/tracked-links/{world.tracked_link_id}"),
    ]
    for method, path in targets:
        for data, status in (
            (DEEP, {400, 422}),
            ('{"label": "' + "x" * (2 * 1024 * 1024) + '"}', {413}),
            ("\xff\xfe", {400}),
            ("", {400}),
        ):
            response = client.open(
                path, method=method, headers=headers, data=data, content_type="application/json"
            )
            body = check_answer(response, f"{method} {path} {data[:20]!r}")
            assert response.status_code in status, (method, path, data[:20], body)


# -- query strings -----------------------------------------------------------------------------


query_values = st.one_of(
    hostile_text,
    iso_times,
    st.integers().map(str),
    st.sampled_from(["0", "1", "200", "201", "-1", "1e3", "٣", "²", "9" * 30, "9" * 5000, "true"]),
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "cursor": cursors,
        "limit": query_values,
        "public_link_id": query_values,
        "correlation_id": query_values,
        "status": query_values,
        "updated_since": query_values,
        "q": query_values,
        # The audit log's filters (issue 12 §4)
        "actor": query_values,
        "action": st.one_of(query_values, st.sampled_from(["user.*", "auth.sign_in", ".*"])),
        "target_type": query_values,
        "from": query_values,
        "to": query_values,
        # Parameters no list reads: ignored, never an error
        "before": cursors,
        "per_page": query_values,
        "batch": query_values,
    },
)
LISTS = [
    "/api/v1/public-links",
    "/api/v1/tracked-links",
    "/api/v1/scheduling-requests",
    "/api/v1/audit-events",
    "/api/v1/webhook-endpoints",
]


@fuzz(300)
@given(path=st.sampled_from(LISTS), query=queries)
@example(path=LISTS[2], query={"updated_since": "9999-12-31T23:59:59-23:59"})
@example(path=LISTS[2], query={"updated_since": "0001-01-01T00:00:00+23:59"})
@example(path=LISTS[1], query={"public_link_id": "9" * 30})
@example(path=LISTS[2], query={"public_link_id": "9" * 30})
@example(path=LISTS[2], query={"public_link_id": "²"})
@example(path=LISTS[0], query={"limit": "²"})
@example(path=LISTS[1], query={"limit": "9" * 5000})
@example(path=LISTS[1], query={"correlation_id": "a\x00b"})
@example(path=LISTS[2], query={"correlation_id": "a\x00b", "status": "\x00"})
@example(path=LISTS[3], query={"from": "9999-12-31", "to": "0001-01-01T00:00:00+23:59"})
@example(path=LISTS[3], query={"q": "%_\\", "actor": "\x00", "action": "user.*"})
@example(path=LISTS[3], query={"cursor": encode_cursor("0001-01-01T00:00:00+23:59", 1)})
@example(path=LISTS[0], query={"cursor": nested_cursor(100_000)})
@example(path=LISTS[2], query={"cursor": nested_cursor(100_000)})
def test_list_queries(world, path, query):
    client = world.app.test_client()
    response = client.get(path, query_string=query, headers=bearer(world.admin_token))
    body = check_answer(response, f"GET {path} {query!r:.300}")
    if response.status_code == 200:
        assert isinstance(body.get("items"), list)
        assert body.get("next_cursor") is None or isinstance(body["next_cursor"], str)


@fuzz(60)
@given(
    path=st.one_of(
        st.sampled_from(LISTS).map(lambda p: p + "/"),
        st.builds(
            lambda base, tail: f"{base}/{tail}",
            st.sampled_from(LISTS),
            st.one_of(st.integers().map(str), hostile_text.filter(lambda t: t and "/" not in t)),
        ),
    )
)
@example(path="/api/v1/scheduling-requests/" + "x" * 5000)
@example(path="/api/v1/public-links/99999999999999999999999")
@example(path="/api/v1/scheduling-requests/srq_\x00")
def test_detail_paths(world, path):
    from urllib.parse import quote  # noqa: PLC0415

    client = world.app.test_client()
    response = client.get(quote(path, safe="/"), headers=bearer(world.admin_token))
    # A path the API does not route is a JSON 404 too, never an HTML page.
    check_answer(response, f"GET {path[:200]}")
