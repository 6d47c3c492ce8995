"""POST /webhooks/cronofy through the test client: every row of the receiver answer table
(docs/architecture.md). Under TESTING the receiver applies stored deliveries in the request
thread right after acknowledging them, so the applied state is there with the answer."""

from __future__ import annotations

import pytest

from tests.support import factories
from tests.support.deliveries import (
    EXAMPLE_SCHEDULING_REQUEST_ID,
    RECEIVER,
    deliveries,
    example_body,
    notification_body,
    post_signed,
    refusals,
    scheduling_request,
)
from webapp.extensions import db
from webapp.models import RefusedDelivery, SchedulingRequest
from webapp.models.bookings import SchedulingRequestTerm
from webapp.webhooks.signatures import HEADER, sign

# --- authentic deliveries ----------------------------------------------------------------


def test_authentic_delivery_is_stored_and_applied(app, client):
    body = notification_body("srq_one")
    response = post_signed(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"status": "stored"}
    [delivery] = deliveries(app)
    assert delivery.body == body
    assert delivery.status == "applied"
    assert delivery.type == "scheduling_request_time_chosen"
    assert delivery.scheduling_request_id == "srq_one"
    assert delivery.processed_at is not None
    row = scheduling_request(app, "srq_one")
    assert row.status == "time_chosen"
    assert row.notification_count == 1
    assert row.last_delivery_id == delivery.id


def test_exact_duplicate_is_acknowledged_without_a_second_effect(app, client):
    body = notification_body("srq_dup")
    assert post_signed(client, body).get_json() == {"status": "stored"}
    before = scheduling_request(app, "srq_dup")
    response = post_signed(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"status": "duplicate"}
    assert len(deliveries(app)) == 1
    after = scheduling_request(app, "srq_dup")
    assert after.notification_count == 1
    assert after.updated_at == before.updated_at


def test_any_configured_secret_and_several_header_values(app_factory):
    app = app_factory(CRONOFY_CLIENT_SECRET="CRN_old_secret, CRN_new_secret")
    client = app.test_client()
    body = notification_body()
    header = f"{sign(body, 'CRN_unknown')},{sign(body, 'CRN_new_secret')}"
    assert post_signed(client, body, header=header).status_code == 200
    other = notification_body()
    assert post_signed(client, other, secret="CRN_old_secret").status_code == 200
    assert len(deliveries(app)) == 2


# --- refused deliveries ------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "not-a-signature", "AAAA=, BBBB="])
def test_missing_or_wrong_header_is_401_and_nothing_is_stored(app, client, header):
    body = notification_body()
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[HEADER] = header
    response = client.post(RECEIVER, data=body, headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert deliveries(app) == []
    [refusal] = refusals(app)
    assert refusal.client_address == "127.0.0.1"
    assert refusal.count == 1
    expected = "missing" if not (header or "").strip() else "does not match"
    assert expected in refusal.reason
    with app.app_context():
        assert db.session.execute(db.select(SchedulingRequest)).first() is None


def test_signature_with_another_secret_is_refused(app, client):
    body = notification_body()
    assert post_signed(client, body, secret="CRN_not_ours").status_code == 401
    assert deliveries(app) == []


def test_refused_bodies_are_never_kept(app, client):
    body = notification_body(summary="secret-marker-in-body")
    post_signed(client, body, header="wrong")
    for refusal in refusals(app):
        assert "secret-marker" not in refusal.reason


def test_old_refusals_are_pruned(app, client):
    from datetime import timedelta

    from webapp.models import utcnow

    with app.app_context():
        long_ago = utcnow() - timedelta(days=31)
        db.session.add(
            RefusedDelivery(at=long_ago, last_at=long_ago, client_address="x", reason="old")
        )
        db.session.commit()
    post_signed(client, b"{}", header="wrong")
    assert [r.reason for r in refusals(app)] == [
        f"{HEADER} header does not match any configured client secret"
    ]


def test_no_client_secret_configured_is_503(app_factory):
    app = app_factory(CRONOFY_CLIENT_SECRET="")
    assert app.config["CLIENT_SECRETS"] == []
    client = app.test_client()
    body = notification_body()
    response = client.post(RECEIVER, data=body, headers={HEADER: sign(body, "anything")})
    assert response.status_code == 503
    assert "CRONOFY_CLIENT_SECRET" in response.get_json()["error"]["message"]
    assert deliveries(app) == []


def test_body_over_one_mib_is_413(app, client):
    body = b'{"padding":"' + b"x" * (1024 * 1024) + b'"}'
    response = post_signed(client, body)
    assert response.status_code == 413
    assert response.is_json
    assert deliveries(app) == []


def test_content_length_claiming_too_much_is_413(app, client):
    body = notification_body()
    response = client.post(
        RECEIVER,
        data=body,
        headers={HEADER: sign(body, app.config["CLIENT_SECRETS"][0])},
        environ_overrides={"CONTENT_LENGTH": str(5 * 1024 * 1024)},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
def test_garbage_content_length_is_never_a_500(app, client, length):
    body = notification_body()
    response = client.post(
        RECEIVER,
        data=body,
        headers={HEADER: sign(body, app.config["CLIENT_SECRETS"][0])},
        environ_overrides={"CONTENT_LENGTH": length},
    )
    assert response.status_code in (400, 401, 411, 413)
    assert deliveries(app) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_json(client, method):
    response = client.open(RECEIVER, method=method)
    assert response.status_code == 405
    assert response.is_json
    assert "POST" in response.headers["Allow"]


def test_receiver_needs_no_csrf_token(app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    body = notification_body()
    assert post_signed(app.test_client(), body).status_code == 200


# --- authentic but unreadable ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "not JSON"),
        (b'"just a string"', "not a JSON object"),
        (
            b'{"notification":{"type":"scheduling_request_time_chosen",'
            b'"triggered_at":"2025-01-19T16:14:11Z"},'
            b'"scheduling_request":{"scheduling_request_id":12345}}',
            "should be a string",
        ),
        (
            b'{"notification":{"type":"x","triggered_at":"2025-01-19T16:14:11Z"},'
            b'"scheduling_request":{"scheduling_request_id":"srq_x","recipients":"nope"}}',
            "recipients should be a list",
        ),
    ],
)
def test_authentic_but_unreadable_is_stored_as_failed_and_acknowledged(app, client, body, error):
    response = post_signed(client, body)
    assert response.status_code == 200
    assert response.get_json() == {"status": "failed"}
    [delivery] = deliveries(app)
    assert delivery.status == "failed"
    assert error in delivery.error
    assert delivery.body == body


def test_failed_body_posted_again_is_a_duplicate(app, client):
    assert post_signed(client, b"{oops").get_json() == {"status": "failed"}
    assert post_signed(client, b"{oops").get_json() == {"status": "duplicate"}
    assert len(deliveries(app)) == 1


# --- ordering and types ------------------------------------------------------------------


def test_out_of_order_delivery_does_not_roll_state_back(app, client):
    newer = notification_body(
        "srq_order", type_="scheduling_request_declined", triggered_at="2025-01-20T10:00:00Z"
    )
    older = notification_body(
        "srq_order",
        type_="scheduling_request_time_chosen",
        triggered_at="2025-01-19T10:00:00Z",
        summary="Old summary",
    )
    assert post_signed(client, newer).get_json() == {"status": "stored"}
    assert post_signed(client, older).get_json() == {"status": "stored"}
    row = scheduling_request(app, "srq_order")
    assert row.status == "declined"
    assert row.summary == "Interview"
    assert row.notification_count == 2
    assert [d.status for d in deliveries(app)] == ["applied", "stale"]
    first, second = deliveries(app)
    assert row.last_delivery_id == second.id
    assert row.first_notified_at == first.received_at


def test_same_triggered_at_applies(app, client):
    one = notification_body(
        "srq_same", type_="scheduling_request_a", triggered_at="2025-01-20T10:00:00Z"
    )
    two = notification_body(
        "srq_same", type_="scheduling_request_b", triggered_at="2025-01-20T10:00:00Z"
    )
    post_signed(client, one)
    assert post_signed(client, two).get_json() == {"status": "stored"}
    assert scheduling_request(app, "srq_same").status == "b"
    assert [d.status for d in deliveries(app)] == ["applied", "applied"]


def test_unknown_type_becomes_the_status(app, client):
    body = notification_body("srq_new_type", type_="scheduling_request_moon_landed")
    assert post_signed(client, body).status_code == 200
    assert scheduling_request(app, "srq_new_type").status == "moon_landed"
    other = notification_body("srq_other_type", type_="completely.different")
    post_signed(client, other)
    assert scheduling_request(app, "srq_other_type").status == "completely.different"


# --- the documented example, end to end --------------------------------------------------


def test_documented_example_fills_the_request_and_matches_the_tracked_link(app, client, admin):
    body = example_body()
    with app.app_context():
        public_link = factories.make_public_link(owner_id=admin.id)
        link = factories.make_tracked_link(
            public_link.id, correlation_id="foobar", created_by_id=admin.id
        )
        link_id = link.id
    response = post_signed(client, body)
    assert response.get_json() == {"status": "stored"}
    row = scheduling_request(app, EXAMPLE_SCHEDULING_REQUEST_ID)
    assert row.status == "time_chosen"
    assert row.correlation_id == "foobar"
    assert row.tracked_link_id == link_id
    assert row.public_link_id == public_link.id
    assert row.owner_id == admin.id
    assert row.summary == "Product Manager Interview at Globex"
    assert row.recipients[0]["email"] == "eb@example.com"
    assert row.recipients[0]["display_name"] == "Dr Emmet Brown"
    assert row.duration_minutes == 30
    assert row.slot_selection == "complete"
    assert row.dashboard_url == "https://app.cronofy.com/scheduler/80f7fece4f37897d62d86d80"
    assert row.recipient_operations["view_url"] == "https://app.cronofy.com/rts/LOiwlKXQ"
    assert row.recipient_operations["decline_url"].endswith("decline=true")
    assert row.captured_data == {
        "phone_number": "0118999881999119725 3",
        "notes": "No dietary requirements.",
    }
    assert row.utm == {
        "utm_source": "automated_email_workflow",
        "utm_medium": "email",
        "utm_campaign": "candidate_interview_offer_email",
    }
    assert row.last_triggered_at.isoformat() == "2025-01-19T16:14:11+00:00"
    with app.app_context():
        terms = set(
            db.session.scalars(
                db.select(SchedulingRequestTerm.term).where(
                    SchedulingRequestTerm.scheduling_request_pk == row.id
                )
            )
        )
        assert {"emmet", "brown", "eb@example.com", "foobar", "globex"} <= terms
        from webapp.models import TrackedLink

        assert db.session.get(TrackedLink, link_id).booking_view_url == (
            "https://app.cronofy.com/rts/LOiwlKXQ"
        )
