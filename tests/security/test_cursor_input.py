"""Cursors and Last-Event-ID are client input (issue 9 §7): bad ones get 4xx, never a 500.

A deeply nested JSON cursor made the JSON parser raise RecursionError on every paginated
page and API list; "²" (which str.isdigit() accepts and int() refuses) and 5,000-digit
values made the live stream fail.
"""

from __future__ import annotations

import base64

import pytest

from tests.support.api import check_answer
from tests.support.signin import bearer, sign_in

DEEP = base64.urlsafe_b64encode(b"[" * 100_000).decode().rstrip("=")
DEEP_SHORT = base64.urlsafe_b64encode(b"[" * 300 + b"]" * 300).decode().rstrip("=")
PAGES = ["/", "/links", "/public-links", "/events", "/users", "/audit", "/audit/export.csv"]
API_LISTS = [
    "/api/v1/public-links",
    "/api/v1/tracked-links",
    "/api/v1/scheduling-requests",
    "/api/v1/audit-events",
]


@pytest.fixture
def browser(world):
    return sign_in(world.app.test_client(), "admin@example.com")


@pytest.mark.parametrize("cursor", [DEEP, DEEP_SHORT], ids=["100k", "600"])
def test_nested_cursors_on_pages_are_not_errors(world, browser, cursor):
    paths = [*PAGES, f"/settings/webhooks/{world.webhook_endpoint_id}"]
    for path in paths:
        for name in ("cursor", "before"):
            response = browser.get(path, query_string={name: cursor})
            assert response.status_code in {200, 302, 400}, (path, name, response.status_code)


@pytest.mark.parametrize("cursor", [DEEP, DEEP_SHORT], ids=["100k", "600"])
def test_nested_cursors_on_api_lists_get_json_errors(world, cursor):
    client = world.app.test_client()
    for path in API_LISTS:
        response = client.get(
            path, query_string={"cursor": cursor}, headers=bearer(world.admin_token)
        )
        body = check_answer(response, f"GET {path}")
        assert response.status_code in {400, 422}, (path, body)
        assert "cursor" in body["error"].get("fields", {}), body


@pytest.mark.parametrize(
    ("header", "cursor"),
    [
        ("²", None),
        (None, "²"),
        ("9" * 5000, None),
        (None, "9" * 5000),
        ("٣", None),
        (None, str(2**63)),
        ("-1", "1"),
    ],
)
def test_stream_refuses_bad_event_ids_with_400(browser, header, cursor):
    headers = {} if header is None else {"Last-Event-ID": header}
    query = {} if cursor is None else {"cursor": cursor}
    response = browser.get("/live/stream", headers=headers, query_string=query, buffered=False)
    try:
        assert response.status_code == 400, (header, cursor, response.status_code)
        assert "not an event id" in response.get_data(as_text=True)
    finally:
        response.close()
