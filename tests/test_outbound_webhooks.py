"""Outbound webhooks over real HTTP, verified with the `standardwebhooks` library (never
with the app's own signing code): bodies, headers, retries on the outbox's schedule with an
injected clock, rotation, resend, test events, Slack, the emit functions' transactions."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from tests.support import bookings, factories
from tests.support.capture import CaptureServer
from webapp import outbox
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import OutboxAttempt, OutboxMessage, TrackedLink, User, WebhookEndpoint, utcnow
from webapp.outbound import events, service

BASE = "https://links.example.com"


@pytest.fixture
def hooks_app(app_factory):
    return app_factory(
        WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
        PUBLIC_BASE_URL=BASE,
        TRUSTED_HOSTS="links.example.com,localhost",  # the test client is localhost
    )


@pytest.fixture
def receiver():
    with CaptureServer() as server:
        yield server


def add_endpoint(app, url: str, **data) -> tuple[int, str | None]:
    with app.app_context():
        created = service.create_endpoint(None, {"url": url, **data})
        return created.endpoint.id, created.secret


def make_link(app, correlation_id: str = "cand-7", label: str = "Jane Candidate"):
    with app.app_context():
        owner = factories.make_user(email="owner@example.com", name="Olive Owner")
        public = factories.make_public_link(owner_id=owner.id)
        user = db.session.get(User, owner.id)
        from webapp.links import service as links

        link = links.create_tracked_link(
            user,
            {"public_link_id": public.id, "correlation_id": correlation_id, "label": label},
        )
        return link.id, owner.id


def messages(app, **where) -> list[OutboxMessage]:
    with app.app_context():
        query = db.select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def verify(secret: str, received) -> dict:
    """The library's own check: signature, id and a timestamp within its 5 minutes."""
    return Webhook(secret).verify(received.body, received.headers)


def test_a_new_tracked_link_arrives_as_a_verified_standard_webhook(hooks_app, receiver):
    endpoint_id, secret = add_endpoint(hooks_app, receiver.url)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    link_id, _ = make_link(hooks_app)
    [queued] = messages(hooks_app, kind="webhook")
    assert queued.topic == "tracked_link.created" and queued.target_id == endpoint_id
    assert receiver.requests == []  # nothing is sent inside the creating transaction

    rounds = outbox.drain(hooks_app)
    assert rounds[0].delivered == 1
    [received] = receiver.requests
    payload = verify(secret, received)
    assert received.headers["webhook-id"] == queued.message_id
    assert received.headers["content-type"] == "application/json"
    assert abs(int(received.headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    assert payload["type"] == "tracked_link.created"
    assert datetime.fromisoformat(payload["timestamp"]).tzinfo is not None
    # The same object the JSON API answers for that tracked link.
    with hooks_app.app_context():
        admin = factories.make_user(email="a@example.com", role="admin")
        from webapp.auth.api_tokens import issue_token

        token = issue_token(db.session.get(User, admin.id), "t")
    api = hooks_app.test_client().get(
        f"/api/v1/tracked-links/{link_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert payload["data"] == api.get_json()
    assert payload["data"]["url"].startswith(BASE + "/l/")


def test_a_tampered_body_fails_the_library_check(hooks_app, receiver):
    _, secret = add_endpoint(hooks_app, receiver.url)
    make_link(hooks_app)
    outbox.drain(hooks_app)
    [received] = receiver.requests
    received.body = received.body.replace(b"cand-7", b"cand-8")
    with pytest.raises(Exception, match="signature"):
        verify(secret, received)


def test_failures_are_retried_on_the_schedule_with_the_same_webhook_id(hooks_app):
    with CaptureServer(statuses=[500, 404, 503]) as receiver:
        _, secret = add_endpoint(hooks_app, receiver.url)
        make_link(hooks_app)
        t0 = utcnow()
        waits = []
        with hooks_app.app_context():
            clock = t0
            for _ in range(4):
                result = outbox.run_once(clock)
                assert result.attempted == 1
                if result.next_due is None:
                    break
                waits.append(result.next_due - clock)
                assert outbox.run_once(result.next_due - timedelta(seconds=1)).attempted == 0
                clock = result.next_due
        received = receiver.requests
    assert waits == [timedelta(seconds=5), timedelta(minutes=1), timedelta(minutes=5)]
    assert len(received) == 4
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert len({r.body for r in received}) == 1
    for request in received:
        verify(secret, request)
    [row] = messages(hooks_app, kind="webhook")
    assert row.delivered_at is not None and row.attempts == 4
    with hooks_app.app_context():
        log = db.session.scalars(db.select(OutboxAttempt).order_by(OutboxAttempt.id)).all()
        assert [(a.number, a.status, a.ok) for a in log] == [
            (1, 500, False),
            (2, 404, False),
            (3, 503, False),
            (4, 200, True),
        ]
        assert json.loads(log[-1].response) == {"received": True}


def test_the_default_schedule_gives_up_after_about_a_day():
    waits = outbox.DEFAULT_POLICY.waits
    assert [w.total_seconds() for w in waits] == [5, 60, 300, 1800, 7200, 18000, 36000, 36000]
    assert timedelta(hours=24) < outbox.DEFAULT_POLICY.span < timedelta(hours=30)
    assert outbox.DEFAULT_POLICY.wait_after(9, timedelta(hours=28)) is None


def test_a_timeout_is_a_failure_that_is_retried(app_factory):
    app = app_factory(WEBHOOK_ALLOW_PRIVATE_TARGETS=True, OUTBOUND_READ_TIMEOUT=0.5)
    with CaptureServer(hang=True) as receiver:
        add_endpoint(app, receiver.url)
        make_link(app)
        with app.app_context():
            result = outbox.run_once()
        assert result.failed == 1
        [row] = messages(app, kind="webhook")
        assert row.last_error == "timed out" and row.last_status is None
        assert row.next_attempt_at > row.last_attempt_at


def test_during_a_rotation_both_secrets_sign_for_a_day(hooks_app, receiver):
    endpoint_id, old = add_endpoint(hooks_app, receiver.url)
    with hooks_app.app_context():
        new = service.rotate_secret(endpoint_id)
    make_link(hooks_app)
    outbox.drain(hooks_app)
    [received] = receiver.requests
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    verify(new, received)
    verify(old, received)
    # After 24 h only the new secret signs.
    with hooks_app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        endpoint.previous_secret_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        factories.make_tracked_link(factories.make_public_link().id)
    with hooks_app.app_context(), write_transaction():
        from webapp.models import TrackedLink

        events.emit_tracked_link_created(db.session.scalars(db.select(TrackedLink)).all()[-1])
    outbox.drain(hooks_app)
    latest = receiver.requests[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    verify(new, latest)
    with pytest.raises(Exception, match="signature"):
        verify(old, latest)


def test_resend_sends_the_same_message_again(hooks_app, receiver):
    endpoint_id, secret = add_endpoint(hooks_app, receiver.url)
    make_link(hooks_app)
    outbox.drain(hooks_app)
    [row] = messages(hooks_app, kind="webhook")
    with hooks_app.app_context():
        service.resend(endpoint_id, row.id)
    outbox.drain(hooks_app)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == row.message_id
    verify(secret, second)
    assert messages(hooks_app, kind="webhook")[0].attempts == 2


def test_only_subscribed_events_are_queued_and_clicks_are_opt_in(hooks_app, receiver):
    add_endpoint(hooks_app, receiver.url)  # default events: no clicks
    add_endpoint(hooks_app, receiver.url, events=["tracked_link.clicked"])
    link_id, _ = make_link(hooks_app)
    assert [m.topic for m in messages(hooks_app)] == ["tracked_link.created"]
    with hooks_app.app_context(), write_transaction():
        assert events.emit_tracked_link_clicks([(link_id, utcnow())]) == 1
    clicked = messages(hooks_app, topic="tracked_link.clicked")
    assert len(clicked) == 1 and clicked[0].target_id == 2


def test_emit_inside_a_write_transaction_commits_with_it_or_not_at_all(hooks_app, receiver):
    add_endpoint(hooks_app, receiver.url)
    with hooks_app.app_context():
        ref = bookings.make_request(status="time_chosen", event_start="2026-12-02T14:00:00Z")
        with pytest.raises(RuntimeError), write_transaction():
            events.emit_scheduling_request_event(
                "scheduling_request_time_chosen", ref.scheduling_request_id
            )
            raise RuntimeError("the change failed")
    assert messages(hooks_app) == []
    with hooks_app.app_context(), write_transaction():
        queued = events.emit_scheduling_request_event(
            "scheduling_request_rescheduled", ref.scheduling_request_id
        )
    assert queued == 1
    [row] = messages(hooks_app)
    body = json.loads(row.body)
    assert body["type"] == "scheduling_request.rescheduled"
    assert body["data"]["scheduling_request_id"] == ref.scheduling_request_id
    with hooks_app.app_context(), write_transaction():
        events.emit_scheduling_request_event(
            "scheduling_request_something_new", ref.scheduling_request_id
        )
    assert messages(hooks_app)[-1].topic == "scheduling_request.updated"


def test_an_endpoint_disabled_by_an_admin_holds_messages_until_enabled(hooks_app, receiver):
    endpoint_id, secret = add_endpoint(hooks_app, receiver.url)
    make_link(hooks_app)
    with hooks_app.app_context():
        service.set_enabled(endpoint_id, False)
    assert outbox.drain(hooks_app)[0].attempted == 0
    assert messages(hooks_app)[0].held
    with hooks_app.app_context():
        service.set_enabled(endpoint_id, True)
    outbox.drain(hooks_app)
    [received] = receiver.requests
    verify(secret, received)


def test_a_slack_endpoint_gets_one_short_human_message(hooks_app, receiver):
    add_endpoint(hooks_app, receiver.url, kind="slack", events=["scheduling_request.time_chosen"])
    with hooks_app.app_context():
        owner = factories.make_user(email="o@example.com")
        link = factories.make_tracked_link(
            factories.make_public_link(owner_id=owner.id).id,
            correlation_id="deal-99",
            created_by_id=owner.id,
        )
        ref = bookings.make_request(
            tracked_link=link, invitee_name="Ada Lovelace", event_start="2026-12-02T14:00:00Z"
        )
        with write_transaction():
            events.emit_scheduling_request_event(
                "scheduling_request_time_chosen", ref.scheduling_request_id
            )
    outbox.drain(hooks_app)
    [received] = receiver.requests
    assert "webhook-signature" not in received.headers
    text = received.json()["text"]
    assert "*Ada Lovelace (eb@example.com)* booked" in text
    assert "Wed 2 Dec 2026, 14:00 (UTC)" in text
    assert "`deal-99`" in text
    assert f"<{BASE}/requests/{ref.scheduling_request_id}|Open the request>" in text


def test_a_message_made_outside_any_request_links_to_public_base_url(hooks_app, receiver):
    add_endpoint(hooks_app, receiver.url, events=["tracked_link.created"])
    with hooks_app.app_context():
        link = factories.make_tracked_link(factories.make_public_link().id)
        slug = link.slug
        with write_transaction():
            events.emit_tracked_link_created(link)
    [row] = messages(hooks_app)
    assert json.loads(row.body)["data"]["url"] == f"{BASE}/l/{slug}"


def test_the_event_time_is_iso_8601(hooks_app, receiver):
    add_endpoint(hooks_app, receiver.url)
    with hooks_app.app_context():
        link = factories.make_tracked_link(factories.make_public_link().id)
        with write_transaction():
            events.emit_tracked_link_created(link)
    stamp = json.loads(messages(hooks_app)[0].body)["timestamp"]
    assert datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_a_persons_click_on_the_short_link_queues_tracked_link_clicked(hooks_app, receiver):
    """Through the real redirect: the visit's write carries the message; a bot, a HEAD or a
    refused click does not announce anything."""
    hooks_app.config["VISIT_FLUSH_INTERVAL"] = 0  # write each visit as it happens
    add_endpoint(hooks_app, receiver.url, events=["tracked_link.clicked"])
    link_id, _ = make_link(hooks_app)
    with hooks_app.app_context():
        slug = db.session.get(TrackedLink, link_id).slug
    client = hooks_app.test_client()
    browser = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
    assert client.get(f"/l/{slug}", headers={"User-Agent": browser}).status_code == 302
    assert (
        client.get(f"/l/{slug}", headers={"User-Agent": "Slackbot-LinkExpanding 1.0"}).status_code
        == 200
    )
    assert client.head(f"/l/{slug}", headers={"User-Agent": browser}).status_code == 200
    [clicked] = messages(hooks_app, topic="tracked_link.clicked")
    data = json.loads(clicked.body)["data"]
    assert data["correlation_id"] == "cand-7" and data["click_count"] == 1
