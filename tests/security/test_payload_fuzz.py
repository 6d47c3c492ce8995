"""Property-based fuzzing of payload handling: reading and receiving Cronofy notifications.

Whatever an authentic sender puts in the body, reading it ends in a Notification or a
PayloadError (never another exception), and the receiver answers 2xx with the delivery
stored, so Cronofy never retries a body the app can only refuse and nothing is lost.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.security.strategies import (
    bodies,
    encode,
    fuzz,
    json_values,
    mutated_examples,
)
from tests.support.deliveries import post_signed
from webapp.extensions import db
from webapp.models import Delivery
from webapp.webhooks import payload
from webapp.webhooks.untrusted import PayloadError

RECEIVER_ANSWERS = {"stored", "failed", "duplicate"}
STORED_STATUSES = {"applied", "stale", "failed", "pending"}
# Pathological bodies a fuzzer rarely draws by chance.
NASTY = [
    b"",
    b"[" * 100_000,
    b'{"a":' * 50_000,
    b"1" * 5000,  # past Python's int-from-string digit limit
    b'{"notification": {"type": "x", "triggered_at": "9999-12-31T23:59:59-23:59"}}',
    b"\xff\xfe{",
    b'{"scheduling_request": {"scheduling_request_id": "\\u0000"}}',
    b"NaN",
    b'{"notification": {"type": 1e999}}',
]


def read(body: bytes) -> None:
    """The property: parse() gives a Notification or a PayloadError; envelope() never fails."""
    try:
        notification = payload.parse(body)
    except PayloadError:
        pass
    else:
        assert notification.type and notification.scheduling_request_id
        assert notification.triggered_at.utcoffset() is not None
    head = payload.envelope(body)
    assert head.triggered_at is None or head.triggered_at.utcoffset() is not None


@fuzz(500)
@given(document=st.one_of(json_values, mutated_examples()))
def test_reading_any_json_value_gives_a_notification_or_a_payload_error(document):
    read(encode(document))


@fuzz(300)
@given(body=st.binary(max_size=300))
def test_reading_any_bytes_gives_a_notification_or_a_payload_error(body):
    read(body)


@pytest.mark.parametrize("body", NASTY, ids=range(len(NASTY)))
def test_reading_pathological_bodies_gives_a_payload_error(body):
    read(body)


@fuzz(300)
@given(body=bodies)
@example(body=NASTY[0])
@example(body=NASTY[1])
@example(body=NASTY[3])
@example(body=NASTY[4])
@example(body=NASTY[6])
@example(body=encode({"notification": {"type": "x"}, "scheduling_request": []}))
def test_receiver_stores_and_acknowledges_any_authentic_body(app, body):
    client = app.test_client()
    response = post_signed(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["status"] in RECEIVER_ANSWERS
    with app.app_context():
        stored = db.session.execute(
            select(Delivery.body, Delivery.status, Delivery.error).where(
                Delivery.body_sha256 == hashlib.sha256(body).hexdigest()
            )
        ).one()
        db.session.remove()
    assert bytes(stored.body) == body  # exactly the bytes that were signed
    assert stored.status in STORED_STATUSES
    # A payload the app cannot read fails with the reason; an unexpected exception while
    # applying it (recorded as an internal error) is a bug the fuzz should report.
    assert not (stored.error or "").startswith("Internal error"), stored.error


@fuzz(80)
@given(document=mutated_examples())
def test_mutated_examples_are_received_and_every_page_showing_them_renders(
    app, admin_client, document
):
    body = encode(document)
    response = post_signed(admin_client, body)
    assert response.status_code == 200
    with app.app_context():
        delivery = db.session.execute(
            select(Delivery.id, Delivery.scheduling_request_id).where(
                Delivery.body_sha256 == hashlib.sha256(body).hexdigest()
            )
        ).one()
        db.session.remove()
    for path in ("/", "/events", f"/events/{delivery.id}", "/requests/export.csv", "/links"):
        assert admin_client.get(path).status_code == 200, path
    if delivery.scheduling_request_id:
        detail = admin_client.get("/requests/" + quote(delivery.scheduling_request_id, safe=""))
        assert detail.status_code in (200, 404)
        api = admin_client.get(
            "/api/v1/scheduling-requests/" + quote(delivery.scheduling_request_id, safe="")
        )
        assert api.status_code == 401  # the session is no API credential; see the API fuzz
