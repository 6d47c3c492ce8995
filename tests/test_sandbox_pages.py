"""The sandbox's pages through the test client: token checks, booking, reschedule, decline."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.support import factories
from tests.support.sandbox import (
    RECEIVER,
    book,
    booking_url,
    hidden,
    mint,
    only_booking,
    open_page,
    outbox_rows,
    slot_keys,
)
from webapp.extensions import db
from webapp.models import SandboxClaim, utcnow
from webapp.sandbox import notifications
from webapp.tracking.tokens import mint_claim_token
from webapp.webhooks.signatures import is_authentic


@pytest.fixture
def invitee(sandbox_app):
    return sandbox_app.test_client()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sandbox/pls/demo"),
        ("post", "/sandbox/pls/demo"),
        ("get", "/sandbox/bookings/abc"),
        ("post", "/sandbox/bookings/abc/reschedule"),
        ("post", "/sandbox/bookings/abc/decline"),
    ],
)
def test_every_sandbox_route_is_404_when_the_sandbox_is_off(client, app, method, path):
    assert app.config["WEBAPP_SANDBOX"] is False
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert "simulated Cronofy" not in response.get_data(as_text=True)


def test_a_fresh_token_shows_the_booking_page(sandbox_app, invitee):
    response, _token, jti = open_page(invitee, sandbox_app)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"<title>[^<]*Sandbox[^<]*</title>", page)
    assert "simulated Cronofy, no real booking" in page
    assert page.count("<h1>") == 1
    keys = slot_keys(page)
    assert 9 <= len(keys) <= 12  # four a day on three weekdays, fewer left today
    assert len({key[:10] for key in keys}) == 3
    assert hidden(page, "jti") == jti
    assert "corr-42" in page
    assert 'for="f-name"' in page and 'for="f-email"' in page and 'for="f-notes"' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"  # Origin stays on own posts
    with sandbox_app.app_context():
        claim = db.session.scalar(db.select(SandboxClaim).where(SandboxClaim.jti == jti))
        assert claim.correlation_id == "corr-42"
        assert claim.utm == {"utm_source": "email"}


def test_reload_in_the_same_browser_works_but_another_browser_is_refused(sandbox_app, invitee):
    token, _jti = mint(sandbox_app)
    assert invitee.get(booking_url(token)).status_code == 200
    assert invitee.get(booking_url(token)).status_code == 200  # a reload
    other = sandbox_app.test_client()
    response = other.get(booking_url(token))
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "replayed" in page
    assert "already used" in page
    assert "tracked link" in page
    assert "simulated Cronofy, no real booking" in page


def test_an_expired_token_is_refused_with_its_reason(sandbox_app, invitee):
    token, _ = mint(sandbox_app, now=utcnow() - timedelta(hours=2), lifetime=3600)
    response = invitee.get(booking_url(token))
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "expired" in page
    assert "fresh click" in page or "every fresh click makes a new token" in page


def test_a_token_for_another_embed_key_is_refused(sandbox_app, invitee):
    token = mint_claim_token(
        embed_public_key="EMB_other",
        embed_secret=sandbox_app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        now=utcnow(),
        lifetime_seconds=600,
    ).token
    response = invitee.get(booking_url(token))
    assert response.status_code == 403
    assert "wrong_issuer" in response.get_data(as_text=True)


def test_a_malformed_token_is_a_bad_request(invitee):
    response = invitee.get("/sandbox/pls/demo?correlation_id=x&claim_token=not.a.jwt")
    assert response.status_code == 400
    assert "malformed" in response.get_data(as_text=True)


def test_overlong_metadata_is_refused(sandbox_app, invitee):
    token, _ = mint(sandbox_app)
    response = invitee.get(booking_url(token, correlation_id="x" * 129))
    assert response.status_code == 400
    assert "128" in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["a" * 65, "bad.code", "bad%20code"])
def test_codes_outside_the_pattern_are_404(sandbox_app, invitee, code):
    token, _ = mint(sandbox_app)
    assert invitee.get(booking_url(token, code=code)).status_code == 404


def test_confirm_creates_a_booking_and_queues_a_signed_notification(sandbox_app, invitee):
    with sandbox_app.app_context():
        owner = factories.make_user(email="owner@example.com")
        link = factories.make_public_link(
            owner_id=owner.id, name="Design review", url="http://localhost/sandbox/pls/demo"
        )
        factories.make_tracked_link(link.id, correlation_id="corr-42")
    response, form = book(invitee, sandbox_app)
    assert response.status_code == 303
    booking = only_booking(sandbox_app)
    assert response.headers["Location"].endswith(f"/sandbox/bookings/{booking.confirmation_token}")
    assert len(booking.confirmation_token) >= 32
    assert booking.scheduling_request_id.startswith("srq_sandbox_")
    assert booking.summary == "Design review with Ada Lovelace"
    assert (booking.correlation_id, booking.utm) == ("corr-42", {"utm_source": "email"})
    assert booking.slot_start.strftime("%Y-%m-%dT%H:%M:%SZ") == form["slot"]
    assert booking.status == "time_chosen"

    [row] = outbox_rows(sandbox_app)
    assert row.target == RECEIVER
    assert row.delivered_at is None and row.attempts == 0
    assert row.topic == notifications.TIME_CHOSEN
    signature = row.headers[notifications.HEADER]
    assert is_authentic(row.body, signature, sandbox_app.config["CLIENT_SECRETS"][:1])
    assert "," not in signature  # one configured secret: one value
    payload = json.loads(row.body)
    assert payload["notification"]["type"] == "scheduling_request_time_chosen"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload["notification"]["triggered_at"])
    request = payload["scheduling_request"]
    view_url = f"http://localhost/sandbox/bookings/{booking.confirmation_token}"
    dashboard_id = booking.scheduling_request_id.removeprefix("srq_")
    assert request["scheduling_request_id"] == booking.scheduling_request_id
    assert request["slot_selection"] == "complete"
    assert request["primary_select_url"] == view_url
    # Cronofy's shape: https://app.cronofy.com/scheduler/<the id without "srq_">
    assert request["dashboard_url"] == f"http://localhost/sandbox/scheduler/{dashboard_id}"
    assert request["recipient_operations"] == {
        "view_url": view_url,
        "reschedule_url": view_url + "?reschedule=true",
        "decline_url": view_url + "?decline=true",
    }
    assert request["summary"] == "Design review with Ada Lovelace"
    assert request["duration"] == {"minutes": 30}
    assert request["recipients"] == [
        {
            "email": "ada@example.com",
            "display_name": "Ada Lovelace",
            "select_url": view_url,
            "slot_selector": True,
        }
    ]
    event = request["event"]
    assert event["summary"] == "Design review with Ada Lovelace"
    assert event["start"] == {"time": form["slot"], "tzid": "Etc/UTC"}
    assert event["metadata"]["scheduler"] == {
        "correlation_id": "corr-42",
        "utm_source": "email",
        "captured_data.phone_number": "+44 20 7946 0000",
        "captured_data.notes": "Step-free access, please.",
    }


def test_submitting_twice_books_once(sandbox_app, invitee):
    response, form = book(invitee, sandbox_app)
    again = invitee.post("/sandbox/pls/demo", data=form)
    assert again.status_code == 303
    assert again.headers["Location"] == response.headers["Location"]
    only_booking(sandbox_app)
    assert len(outbox_rows(sandbox_app)) == 1


def test_invalid_answers_rerender_with_values_and_errors(sandbox_app, invitee):
    response, _ = book(invitee, sandbox_app, name="  ", email="not-an-email", notes="keep me")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your name." in page
    assert "Enter an email address like name@example.com." in page
    assert "not-an-email" in page and "keep me" in page
    assert "simulated Cronofy, no real booking" in page
    assert outbox_rows(sandbox_app) == []


def test_a_slot_that_is_not_offered_is_refused(sandbox_app, invitee):
    response, _ = book(invitee, sandbox_app, slot="2020-01-01T09:00:00Z")
    assert response.status_code == 422
    assert "no longer available" in response.get_data(as_text=True)


def test_a_form_from_another_session_is_refused(sandbox_app, invitee):
    response, _token, jti = open_page(invitee, sandbox_app)
    page = response.get_data(as_text=True)
    stranger = sandbox_app.test_client()
    answer = stranger.post(
        "/sandbox/pls/demo",
        data={"jti": jti, "slot": slot_keys(page)[0], "name": "Eve", "email": "eve@example.com"},
    )
    assert answer.status_code == 403
    assert "browser session" in answer.get_data(as_text=True)
    assert outbox_rows(sandbox_app) == []


def test_html_in_answers_is_shown_as_text(sandbox_app, invitee):
    response, _ = book(
        invitee, sandbox_app, name="<script>alert(1)</script>", notes="<b>bold</b>\nline two"
    )
    page = invitee.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page


def test_reschedule_then_decline_queue_notifications_in_order(sandbox_app, invitee):
    response, form = book(invitee, sandbox_app)
    location = response.headers["Location"]
    page = invitee.get(location).get_data(as_text=True)
    assert "Your booking" in page and "Booked" in page
    assert "data-confirm=" in page
    new_slot = slot_keys(page)[0]
    assert new_slot != form["slot"]

    same = invitee.post(location + "/reschedule", data={"slot": form["slot"]})
    assert same.status_code == 422
    moved = invitee.post(location + "/reschedule", data={"slot": new_slot})
    assert moved.status_code == 303
    booking = only_booking(sandbox_app)
    assert booking.status == "rescheduled"
    assert booking.slot_start.strftime("%Y-%m-%dT%H:%M:%SZ") == new_slot

    assert invitee.post(location + "/decline").status_code == 303
    page = invitee.get(location).get_data(as_text=True)
    assert "Booking declined" in page
    assert only_booking(sandbox_app).status == "declined"

    again = invitee.post(location + "/decline", follow_redirects=True)
    assert "was declined" in again.get_data(as_text=True)
    late = invitee.post(location + "/reschedule", data={"slot": new_slot}, follow_redirects=True)
    assert "was declined" in late.get_data(as_text=True)

    rows = outbox_rows(sandbox_app)
    payloads = [json.loads(row.body) for row in rows]
    assert [p["notification"]["type"] for p in payloads] == [
        "scheduling_request_time_chosen",
        "scheduling_request_rescheduled",
        "scheduling_request_declined",
    ]
    srq_ids = {p["scheduling_request"]["scheduling_request_id"] for p in payloads}
    assert srq_ids == {booking.scheduling_request_id}
    triggered = [p["notification"]["triggered_at"] for p in payloads]
    assert triggered == sorted(triggered) and len(set(triggered)) == 3
    assert payloads[1]["scheduling_request"]["event"]["start"]["time"] == new_slot
    declined = payloads[2]["scheduling_request"]
    assert declined["slot_selection"] == "pending"
    assert "start" not in declined["event"]
    assert declined["event"]["metadata"]["scheduler"]["correlation_id"] == "corr-42"


def test_unknown_booking_is_404(invitee):
    response = invitee.get("/sandbox/bookings/nope")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "no sandbox booking at this address" in page
    assert "simulated Cronofy, no real booking" in page
    assert invitee.post("/sandbox/bookings/nope/decline").status_code == 404


def test_confirm_needs_the_csrf_token(app_factory):
    app = app_factory(WEBAPP_SANDBOX=True, SANDBOX_RECEIVER_URL=RECEIVER, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response, _token, _jti = open_page(client, app)
    page = response.get_data(as_text=True)
    form = {
        "jti": hidden(page, "jti"),
        "slot": slot_keys(page)[0],
        "name": "Ada",
        "email": "ada@example.com",
    }
    assert client.post("/sandbox/pls/demo", data=form).status_code == 400
    answer = client.post(
        "/sandbox/pls/demo", data={**form, "csrf_token": hidden(page, "csrf_token")}
    )
    assert answer.status_code == 303
