"""GET /live/stream through the test client: headers, resume, filters, then hang up."""

from __future__ import annotations

import json

import pytest

from tests.support.bookings import make_request
from tests.support.signin import sign_in


@pytest.fixture
def stream_app(app_factory):
    return app_factory(SSE_POLL_INTERVAL=0.01, SSE_HEARTBEAT=0.05, SSE_MAX_DURATION=5)


@pytest.fixture
def viewer(stream_app, staff):
    return sign_in(stream_app.test_client(), staff.id)


def read_messages(response, wanted: int, limit: int = 200) -> list[str]:
    """Up to `wanted` non-comment messages from a streaming response, at most `limit` chunks."""
    messages: list[str] = []
    chunks = iter(response.response)
    for _ in range(limit):
        chunk = next(chunks).decode()
        if not chunk.startswith(":") and not chunk.startswith("retry:"):
            messages.append(chunk)
        if len(messages) >= wanted:
            break
    return messages


def row_of(message: str) -> tuple[int, dict]:
    lines = dict(line.split(": ", 1) for line in message.strip().split("\n"))
    assert lines["event"] == "row"
    return int(lines["id"]), json.loads(lines["data"])


def test_stream_requires_sign_in(stream_app):
    response = stream_app.test_client().get("/live/stream")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_stream_headers_ping_and_heartbeat(viewer):
    response = viewer.get("/live/stream", buffered=False)
    try:
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Accel-Buffering"] == "no"
        chunks = iter(response.response)
        first = next(chunks).decode()
        assert first.startswith("retry: ") and ": ping\n\n" in first
        assert next(chunks).decode() == ": keep-alive\n\n"
    finally:
        response.close()


def test_stream_resumes_from_cursor_parameter(stream_app, viewer):
    with stream_app.app_context():
        old = make_request(summary="old")
        new = make_request(summary="new")
    response = viewer.get(f"/live/stream?cursor={old.delivery_ids[-1]}", buffered=False)
    try:
        [message] = read_messages(response, 1)
        event_id, data = row_of(message)
        assert data["id"] == new.scheduling_request_id
        assert event_id == new.delivery_ids[-1]
    finally:
        response.close()


def test_last_event_id_wins_over_the_page_cursor(stream_app, viewer):
    with stream_app.app_context():
        first = make_request(summary="first")
        second = make_request(summary="second")
        third = make_request(summary="third")
    response = viewer.get(
        f"/live/stream?cursor={first.delivery_ids[-1]}",
        headers={"Last-Event-ID": str(second.delivery_ids[-1])},
        buffered=False,
    )
    try:
        [message] = read_messages(response, 1)
        assert row_of(message)[1]["id"] == third.scheduling_request_id
    finally:
        response.close()


def test_stream_without_cursor_starts_now(stream_app, viewer):
    with stream_app.app_context():
        make_request(summary="before the page")
    response = viewer.get("/live/stream", buffered=False)
    try:
        chunks = iter(response.response)
        next(chunks)  # ping: the stream's starting point is fixed by now
        with stream_app.app_context():
            later = make_request(summary="after connect")
        [message] = read_messages(response, 1)
        assert row_of(message)[1]["id"] == later.scheduling_request_id
    finally:
        response.close()


def test_stream_applies_the_page_filters(stream_app, viewer):
    with stream_app.app_context():
        make_request(status="time_chosen", summary="chosen")
        declined = make_request(status="declined", summary="declined")
    response = viewer.get("/live/stream?cursor=0&status=declined&q=declined", buffered=False)
    try:
        messages = [row_of(message)[1] for message in read_messages(response, 2)]
        assert [m["matches"] for m in messages] == [False, True]
        assert messages[1]["id"] == declined.scheduling_request_id
    finally:
        response.close()


def test_page_renders_the_feed_position_for_the_first_connection(stream_app, viewer):
    with stream_app.app_context():
        ref = make_request()
    html = viewer.get("/").get_data(as_text=True)
    assert f'data-cursor="{ref.delivery_ids[-1]}"' in html


def test_cursor_beyond_the_newest_delivery_starts_from_now(stream_app, viewer):
    with stream_app.app_context():
        make_request(summary="existing")
    response = viewer.get("/live/stream?cursor=999999", buffered=False)
    try:
        next(iter(response.response))
        with stream_app.app_context():
            later = make_request(summary="after connect")
        [message] = read_messages(response, 1)
        assert row_of(message)[1]["id"] == later.scheduling_request_id
    finally:
        response.close()


def test_garbage_cursor_is_refused_with_400(stream_app, viewer):
    """Client input, so a plain 400 (issue 9 §7); it used to be silently ignored."""
    response = viewer.get(
        "/live/stream?cursor=-4", headers={"Last-Event-ID": "abc"}, buffered=False
    )
    try:
        assert response.status_code == 400
        assert "not an event id" in response.get_data(as_text=True)
    finally:
        response.close()


def test_blank_last_event_id_falls_through_to_the_cursor(stream_app, viewer):
    response = viewer.get("/live/stream?cursor=0", headers={"Last-Event-ID": " "}, buffered=False)
    try:
        assert response.status_code == 200
        assert next(iter(response.response)).decode().startswith("retry: ")
    finally:
        response.close()
