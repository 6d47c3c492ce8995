"""Sandbox notifications through the shared outbox over real HTTP: signed delivery, retries
with Cronofy's backoff, claiming, the background worker."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from tests.support.capture import CaptureServer
from tests.support.sandbox import book, outbox_rows
from webapp import outbox as shared_outbox
from webapp.extensions import db
from webapp.models import OutboxMessage, utcnow
from webapp.sandbox import outbox
from webapp.sandbox.notifications import CONTENT_TYPE
from webapp.webhooks.signatures import HEADER

CLOSED_PORT_URL = "http://127.0.0.1:9/webhooks/cronofy"  # discard port: nothing listens


def sandbox(app_factory, receiver: CaptureServer | str, **config):
    """A sandbox app posting to `receiver`; a capture server learns the app's secret."""
    url = receiver if isinstance(receiver, str) else receiver.url
    app = app_factory(WEBAPP_SANDBOX=True, SANDBOX_RECEIVER_URL=url, **config)
    if isinstance(receiver, CaptureServer):
        receiver.secrets = app.config["CLIENT_SECRETS"]
    return app


@pytest.fixture
def capture():
    with CaptureServer([]) as server:
        yield server


def test_backoff_doubles_up_to_a_minute():
    waits = [outbox.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_round_delivers_the_stored_bytes_with_the_signature(app_factory, capture):
    app = sandbox(app_factory, capture)
    client = app.test_client()
    book(client, app)
    [row] = outbox_rows(app)
    assert capture.requests == []  # nothing is sent inside the invitee's request

    rounds = shared_outbox.drain(app)
    assert rounds[0].delivered == 1
    [received] = capture.requests
    assert received.authentic
    assert received.body == row.body
    assert received.headers["content-type"] == CONTENT_TYPE
    assert received.headers[HEADER.lower()] == row.headers[HEADER]
    assert received.json()["notification"]["type"] == "scheduling_request_time_chosen"
    [row] = outbox_rows(app)
    assert row.delivered_at is not None
    assert row.attempts == 1
    assert row.last_status == 200
    assert shared_outbox.drain(app)[0].attempted == 0  # delivered rows are never sent again


def test_failures_are_retried_with_backoff_until_delivered(app_factory):
    with CaptureServer([], statuses=[500, 500, 200]) as capture:
        app = sandbox(app_factory, capture)
        book(app.test_client(), app)
        t0 = utcnow()
        with app.app_context():
            first = outbox.send_due(t0)
            assert (first.attempted, first.failed) == (1, 1)
            assert first.next_due == t0 + timedelta(seconds=1)
            assert outbox.send_due(t0 + timedelta(milliseconds=500)).attempted == 0  # not yet
            second = outbox.send_due(t0 + timedelta(seconds=1))
            assert second.failed == 1
            assert second.next_due == t0 + timedelta(seconds=3)
            third = outbox.send_due(t0 + timedelta(seconds=3))
            assert (third.delivered, third.next_due) == (1, None)
        bodies = {request.body for request in capture.requests}
    [row] = outbox_rows(app)
    assert row.attempts == 3
    assert row.delivered_at == t0 + timedelta(seconds=3)
    assert len(capture.requests) == 3 and len(bodies) == 1


def test_an_unreachable_receiver_keeps_the_row_and_says_why(app_factory):
    app = sandbox(app_factory, CLOSED_PORT_URL)
    book(app.test_client(), app)
    t0 = utcnow()
    with app.app_context():
        result = outbox.send_due(t0)
    assert result.failed == 1
    [row] = outbox_rows(app)
    assert row.delivered_at is None and row.gave_up_at is None
    assert row.attempts == 1 and row.last_status is None
    assert row.last_error  # e.g. "[Errno 111] Connection refused"


def test_sending_gives_up_after_a_day(app_factory):
    app = sandbox(app_factory, CLOSED_PORT_URL)
    book(app.test_client(), app)
    later = utcnow() + timedelta(hours=24, minutes=1)
    with app.app_context():
        assert outbox.send_due(later).failed == 1
        assert outbox.send_due(later + timedelta(hours=1)).attempted == 0
    [row] = outbox_rows(app)
    assert row.gave_up_at == later


def test_a_claimed_row_is_not_sent_by_another_sender(app_factory, capture):
    app = sandbox(app_factory, capture)
    book(app.test_client(), app)
    now = utcnow()
    with app.app_context():
        claimed = shared_outbox.claim_due(now, "other-worker", 10)
        assert len(claimed) == 1
        blocked = outbox.send_due(now)
        assert blocked.attempted == 0
        assert blocked.next_due == now + timedelta(seconds=shared_outbox.CLAIM_SECONDS)
        # The other worker died: once its claim lapses the row is sent after all.
        later = now + timedelta(seconds=shared_outbox.CLAIM_SECONDS + 1)
        assert outbox.send_due(later).delivered == 1
    assert len(capture.requests) == 1


def test_the_background_sender_delivers_without_help(app_factory, capture):
    app = sandbox(app_factory, capture, OUTBOX_WORKER=True)
    try:
        client = app.test_client()
        book(client, app)
        received = capture.wait_for(1, timeout=10)
        assert len(received) == 1 and received[0].authentic
        sender = shared_outbox.worker_for(app)
        assert sender is not None and sender.alive()

        location = book(client, app)[0].headers["Location"]
        client.post(location + "/decline")
        received = capture.wait_for(3, timeout=10)
        assert [r.json()["notification"]["type"] for r in received[1:]] == [
            "scheduling_request_time_chosen",
            "scheduling_request_declined",
        ]
        assert shared_outbox.worker_for(app) is sender  # one per process
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with app.app_context():
                pending = db.session.scalar(
                    db.select(db.func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.delivered_at.is_(None))
                )
            if pending == 0:
                break
            time.sleep(0.05)
        assert pending == 0
    finally:
        shared_outbox.stop(app)
    assert shared_outbox.worker_for(app) is None
    assert not sender.thread.is_alive()


def test_the_background_sender_is_off_under_testing_by_default(app_factory, capture):
    app = sandbox(app_factory, capture)
    book(app.test_client(), app)
    time.sleep(0.3)
    assert capture.requests == []
    assert shared_outbox.worker_for(app) is None
    assert json.loads(outbox_rows(app)[0].body)["notification"]["type"]
