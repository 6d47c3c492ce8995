"""Issue 9 §7: NaN and Infinity never reach a client as "JSON".

Python's json module reads NaN, Infinity and 1e999 and writes them back as they came, which
no JSON parser accepts: one such payload made the API's answer for its Scheduling Request
unreadable. Now a payload carrying one is refused when it is read (stored as failed, with
the reason), one stored before is shown with those numbers as text, and every JSON response
is written strictly.
"""

from __future__ import annotations

import json

import pytest

from tests.support.bookings import make_delivery, make_request
from tests.support.deliveries import deliveries, notification_body, post_signed
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User
from webapp.webhooks import payload

NON_FINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"]


def strict_json(text: str):  # type: ignore[no-untyped-def]
    def refuse(name: str):  # type: ignore[no-untyped-def]
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def with_number(number: bytes, srq_id: str = "srq_nan") -> bytes:
    return notification_body(srq_id).replace(
        b'"scheduler": {}', b'"scheduler": {"captured_data.score": ' + number + b"}"
    )


@pytest.mark.parametrize("number", NON_FINITE)
def test_reading_refuses_non_finite_numbers(number):
    body = with_number(number)
    assert number in body
    with pytest.raises(payload.PayloadError, match="JSON number|too large"):
        payload.parse(body)


@pytest.mark.parametrize("number", NON_FINITE)
def test_the_receiver_stores_such_a_payload_as_failed_with_the_reason(app, client, number):
    answer = post_signed(client, with_number(number))
    assert answer.status_code == 200 and answer.get_json() == {"status": "failed"}
    [delivery] = deliveries(app)
    assert delivery.status == "failed" and delivery.error


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_payload_stored_before_is_shown_by_the_api_as_strict_json(app, staff, number):
    with app.app_context():
        request = make_request("srq_stored_nan")
        make_delivery(
            body=with_number(number, "srq_stored_nan"),
            status="applied",
            notification_type="scheduling_request_time_chosen",
            scheduling_request_id=request.scheduling_request_id,
        )
        token = issue_token(db.session.get(User, staff.id), "tests")
    answer = app.test_client().get(
        "/api/v1/scheduling-requests/srq_stored_nan",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200
    document = strict_json(answer.get_data(as_text=True))
    scores = [
        note["payload"]["scheduling_request"]["event"]["metadata"]["scheduler"].get(
            "captured_data.score"
        )
        for note in document["notifications"]
    ]
    assert number.decode() in scores  # kept as its text


def test_every_json_response_is_strict(app):
    with app.test_request_context(), pytest.raises(ValueError):
        app.json.response({"score": float("nan")})
    assert app.json.dumps({"score": 1.5}) == '{"score": 1.5}'
