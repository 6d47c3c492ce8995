"""The sandbox behaves as Cronofy does where the app can see it: every client secret signs,
a booking page opened without a claim token still books (and tells nobody), and
`dashboard_url` has Cronofy's shape and opens the organiser's page."""

from __future__ import annotations

import json

import pytest

from tests.support import factories
from tests.support.capture import CaptureServer
from tests.support.sandbox import (
    RECEIVER,
    book,
    booking_url,
    hidden,
    mint,
    only_booking,
    outbox_rows,
    slot_keys,
)
from webapp.webhooks.signatures import HEADER, is_authentic, sign

SECRETS = ("CRN_first_" + "a" * 30, "CRN_second_" + "b" * 30)


@pytest.fixture
def rotating_app(app_factory):
    """An application with two active client secrets, written with a space after the comma."""
    return app_factory(
        WEBAPP_SANDBOX=True, SANDBOX_RECEIVER_URL=RECEIVER, CRONOFY_CLIENT_SECRET=", ".join(SECRETS)
    )


def test_notifications_carry_one_hmac_per_client_secret_comma_joined(rotating_app):
    client = rotating_app.test_client()
    response, _form = book(client, rotating_app)
    assert response.status_code == 303
    [row] = outbox_rows(rotating_app)
    # Cronofy's format: "<hmac 1>,<hmac 2>", no space, one per active secret, in order.
    signature = row.headers[HEADER]
    assert signature == ",".join(sign(row.body, secret) for secret in SECRETS)
    for secret in SECRETS:
        assert is_authentic(row.body, signature, [secret])


def test_the_cli_signs_with_every_configured_secret(app_factory):
    app = app_factory(CRONOFY_CLIENT_SECRET=",".join(SECRETS))
    # A receiver that knows only the newer secret still accepts the delivery.
    with CaptureServer([SECRETS[1]]) as capture:
        result = app.test_cli_runner().invoke(
            args=["sandbox", "send", "--url", capture.url, "--correlation-id", "corr-cli"]
        )
    assert result.exit_code == 0, result.output
    [received] = capture.requests
    assert received.authentic
    assert received.headers["cronofy-hmac-sha256"] == ",".join(
        sign(received.body, secret) for secret in SECRETS
    )


# -- A Public Link opened without a claim token ---------------------------------------------


def walk_in(client, path: str = "/sandbox/pls/demo", **answers):  # type: ignore[no-untyped-def]
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    text = page.get_data(as_text=True)
    form = {
        "walk_in": hidden(text, "walk_in"),
        "slot": slot_keys(text)[0],
        "name": "Walk In",
        "email": "walk.in@example.com",
        **answers,
    }
    return text, form, client.post(path.rstrip("/"), data=form)


def test_a_page_without_a_claim_token_says_so_and_still_books(sandbox_app):
    client = sandbox_app.test_client()
    page, form, response = walk_in(client)
    assert "No claim token" in page
    assert "sends no\n  notification" in page or "sends no notification" in " ".join(page.split())
    assert 'name="jti"' not in page
    assert response.status_code == 303
    booking = only_booking(sandbox_app)
    assert booking.claimed is False
    assert booking.name == "Walk In"
    assert booking.slot_start.strftime("%Y-%m-%dT%H:%M:%SZ") == form["slot"]
    assert outbox_rows(sandbox_app) == []  # Cronofy sends nothing for such a booking
    confirmation = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nobody is told" in confirmation
    assert "No claim token" in confirmation


def test_a_walk_in_booking_changes_without_notifications(sandbox_app):
    client = sandbox_app.test_client()
    _page, form, response = walk_in(client)
    location = response.headers["Location"]
    details = client.get(location).get_data(as_text=True)
    new_slot = next(key for key in slot_keys(details) if key != form["slot"])
    moved = client.post(location + "/reschedule", data={"slot": new_slot}, follow_redirects=True)
    assert "Rescheduled. Nobody is told" in moved.get_data(as_text=True)
    declined = client.post(location + "/decline", follow_redirects=True)
    assert "Declined. Nobody is told" in declined.get_data(as_text=True)
    assert only_booking(sandbox_app).status == "declined"
    assert outbox_rows(sandbox_app) == []


def test_a_walk_in_form_submitted_twice_books_once(sandbox_app):
    client = sandbox_app.test_client()
    _page, form, first = walk_in(client)
    again = client.post("/sandbox/pls/demo", data=form)
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    only_booking(sandbox_app)


def test_a_walk_in_form_from_another_session_is_refused(sandbox_app):
    page = sandbox_app.test_client().get("/sandbox/pls/demo").get_data(as_text=True)
    stranger = sandbox_app.test_client()
    answer = stranger.post(
        "/sandbox/pls/demo",
        data={
            "walk_in": hidden(page, "walk_in"),
            "slot": slot_keys(page)[0],
            "name": "Eve",
            "email": "eve@example.com",
        },
    )
    assert answer.status_code == 403
    assert "browser session" in answer.get_data(as_text=True)
    assert outbox_rows(sandbox_app) == []


def test_an_empty_claim_token_is_no_claim_token(sandbox_app):
    response = sandbox_app.test_client().get("/sandbox/pls/demo?claim_token=")
    assert response.status_code == 200
    assert "No claim token" in response.get_data(as_text=True)


def test_a_trailing_slash_is_the_same_booking_page(sandbox_app):
    client = sandbox_app.test_client()
    token, jti = mint(sandbox_app)
    response = client.get(booking_url(token).replace("/demo?", "/demo/?"))
    assert response.status_code == 200  # answered, not redirected
    assert hidden(response.get_data(as_text=True), "jti") == jti
    _page, _form, booked = walk_in(client, "/sandbox/pls/demo/")
    assert booked.status_code == 303


# -- dashboard_url -------------------------------------------------------------------------


def test_dashboard_url_opens_the_organisers_page_for_staff(sandbox_app):
    invitee = sandbox_app.test_client()
    book(invitee, sandbox_app)
    [row] = outbox_rows(sandbox_app)
    request = json.loads(row.body)["scheduling_request"]
    srq_id = request["scheduling_request_id"]
    dashboard_url = request["dashboard_url"]
    assert dashboard_url == "http://localhost/sandbox/scheduler/" + srq_id.removeprefix("srq_")
    path = dashboard_url.removeprefix("http://localhost")

    anonymous = sandbox_app.test_client().get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    with sandbox_app.app_context():
        factories.make_user(email="organiser@example.com", role="staff")
    staff = sandbox_app.test_client()
    staff.post("/login", data={"email": "organiser@example.com", "password": factories.PASSWORD})
    page = staff.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert srq_id in text
    assert "scheduling_request_time_chosen" in text  # the notification it sent, listed
    assert f"/requests/{srq_id}" in text
    assert only_booking(sandbox_app).summary in text
    assert staff.get("/sandbox/scheduler/sandbox_nope").status_code == 404


def test_the_organisers_page_is_404_with_the_sandbox_off(app, admin_client):
    assert app.config["WEBAPP_SANDBOX"] is False
    assert admin_client.get("/sandbox/scheduler/sandbox_0123").status_code == 404
    assert app.test_client().get("/sandbox/scheduler/sandbox_0123").status_code == 404
