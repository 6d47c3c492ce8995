"""Storing and applying deliveries as services: pending recovery, reprocessing, the tie to
tracked links, and the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import factories
from tests.test_receiver import deliveries, notification_body, post_signed, scheduling_request
from webapp.extensions import db
from webapp.models import Delivery, TrackedLink, utcnow
from webapp.webhooks import ingest

VIEW_URL = "https://app.cronofy.com/rts/VIEW"


def with_view_url(srq_id, **kwargs) -> bytes:
    return notification_body(srq_id, recipient_operations={"view_url": VIEW_URL}, **kwargs)


def tracked_link(app, correlation_id: str, owner_id: int | None = None) -> int:
    with app.app_context():
        public_link = factories.make_public_link(owner_id=owner_id)
        return factories.make_tracked_link(
            public_link.id, correlation_id=correlation_id, created_by_id=owner_id
        ).id


def booking_view_url(app, link_id: int) -> str | None:
    with app.app_context():
        return db.session.get(TrackedLink, link_id).booking_view_url


def test_apply_pending_applies_a_delivery_stored_before_a_crash(app):
    with app.app_context():
        stored = ingest.store(notification_body("srq_crash"))
        assert not stored.duplicate
    assert deliveries(app)[0].status == "pending"
    assert scheduling_request(app, "srq_crash") is None
    with app.app_context():
        assert ingest.apply_pending(older_than_seconds=0) == 1
        assert ingest.apply_pending(older_than_seconds=0) == 0
    assert deliveries(app)[0].status == "applied"
    assert scheduling_request(app, "srq_crash").notification_count == 1


def test_apply_pending_leaves_fresh_deliveries_to_their_own_request(app):
    with app.app_context():
        ingest.store(notification_body("srq_fresh"))
        ingest.store(notification_body("srq_old"), received_at=utcnow() - timedelta(minutes=2))
        assert ingest.apply_pending(older_than_seconds=30) == 1
    assert scheduling_request(app, "srq_fresh") is None
    assert scheduling_request(app, "srq_old") is not None


def test_the_receiver_sweeps_old_pending_deliveries(app, client):
    with app.app_context():
        ingest.store(notification_body("srq_left"), received_at=utcnow() - timedelta(minutes=5))
    assert post_signed(client, notification_body("srq_next")).status_code == 200
    assert {d.scheduling_request_id: d.status for d in deliveries(app)} == {
        "srq_left": "applied",
        "srq_next": "applied",
    }


def test_applying_twice_has_no_second_effect(app, client):
    post_signed(client, notification_body("srq_twice"))
    delivery_id = deliveries(app)[0].id
    before = scheduling_request(app, "srq_twice")
    with app.app_context():
        assert ingest.apply_delivery(delivery_id) == "applied"
    after = scheduling_request(app, "srq_twice")
    assert after.notification_count == 1
    assert after.updated_at == before.updated_at


def test_storing_the_same_body_again_is_a_duplicate(app):
    """No look-up first: the unique hash and INSERT ... ON CONFLICT DO NOTHING decide."""
    body = notification_body("srq_race")
    with app.app_context():
        first = ingest.store(body)
        second = ingest.store(body)
    assert not first.duplicate
    assert second == ingest.Stored(first.delivery_id, duplicate=True)
    assert len(deliveries(app)) == 1


def test_reprocess_keeps_failing_for_a_broken_body_with_its_error(app, client):
    post_signed(client, b'{"notification": [], "scheduling_request": {}}')
    [delivery] = deliveries(app)
    with app.app_context():
        assert ingest.reprocess(delivery.id) == "failed"
        assert ingest.reprocess_failed() == {"failed": 1}
    [delivery] = deliveries(app)
    assert delivery.status == "failed"
    assert "notification should be an object" in delivery.error


def test_reprocess_applies_a_delivery_that_failed_for_another_reason(app, client):
    post_signed(client, notification_body("srq_retry"))
    with app.app_context():
        delivery = db.session.execute(db.select(Delivery)).scalar_one()
        delivery.status, delivery.error = "failed", "Internal error while applying: boom"
        db.session.commit()
        assert ingest.reprocess_failed() == {"applied": 1}
    [delivery] = deliveries(app)
    assert delivery.status == "applied" and delivery.error is None
    assert scheduling_request(app, "srq_retry").notification_count == 1


def test_applied_deliveries_are_not_reprocessed(app, client):
    post_signed(client, notification_body())
    delivery_id = deliveries(app)[0].id
    with app.app_context():
        with pytest.raises(ingest.NotReprocessable):
            ingest.reprocess(delivery_id)
        with pytest.raises(ingest.DeliveryNotFound):
            ingest.reprocess(delivery_id + 100)


def test_unmatched_correlation_id_is_kept(app, client):
    post_signed(client, notification_body("srq_unmatched", correlation_id="nobody-has-this"))
    row = scheduling_request(app, "srq_unmatched")
    assert row.correlation_id == "nobody-has-this"
    assert row.tracked_link_id is None and row.public_link_id is None and row.owner_id is None


def test_a_tracked_link_made_later_is_matched_by_the_next_notification(app, client, admin):
    post_signed(client, notification_body("srq_late", correlation_id="late-link"))
    link_id = tracked_link(app, "late-link", owner_id=admin.id)
    post_signed(
        client,
        notification_body(
            "srq_late", correlation_id="late-link", triggered_at="2025-02-01T00:00:00Z"
        ),
    )
    row = scheduling_request(app, "srq_late")
    assert row.tracked_link_id == link_id and row.owner_id == admin.id


def test_notification_without_metadata_keeps_the_tie(app, client):
    link_id = tracked_link(app, "keep-me")
    post_signed(client, with_view_url("srq_keep", correlation_id="keep-me"))
    bare = notification_body(
        "srq_keep", type_="scheduling_request_rescheduled", triggered_at="2025-03-01T00:00:00Z"
    ).replace(b'"event": {"metadata": {"scheduler": {}}}', b'"event": {}')
    assert b'"event": {}' in bare
    post_signed(client, bare)
    row = scheduling_request(app, "srq_keep")
    assert row.status == "rescheduled"
    assert row.correlation_id == "keep-me" and row.tracked_link_id == link_id


def test_booking_view_url_follows_the_latest_state(app, client):
    link_id = tracked_link(app, "booker")
    post_signed(client, with_view_url("srq_b", correlation_id="booker"))
    assert booking_view_url(app, link_id) == VIEW_URL
    post_signed(
        client,
        with_view_url(
            "srq_b",
            correlation_id="booker",
            type_="scheduling_request_declined",
            triggered_at="2025-02-01T00:00:00Z",
        ),
    )
    assert booking_view_url(app, link_id) is None
    # A late, older notification is stale and does not bring the booking back.
    post_signed(
        client,
        with_view_url("srq_b", correlation_id="booker", triggered_at="2025-01-25T00:00:00Z"),
    )
    assert booking_view_url(app, link_id) is None
    assert scheduling_request(app, "srq_b").status == "declined"


def test_failed_deliveries_do_not_count_towards_the_timeline(app, client):
    post_signed(client, notification_body("srq_count"))
    broken = (
        b'{"notification":{"type":"t","triggered_at":"2025-01-30T00:00:00Z"},'
        b'"scheduling_request":{"scheduling_request_id":"srq_count","duration":{"minutes":"x"}}}'
    )
    assert post_signed(client, broken).get_json() == {"status": "failed"}
    assert deliveries(app)[1].scheduling_request_id == "srq_count"
    assert scheduling_request(app, "srq_count").notification_count == 1


def test_cli_reprocess_and_apply_pending(app, client, runner):
    post_signed(client, b"[not json")
    failed_id = deliveries(app)[0].id
    result = runner.invoke(args=["deliveries", "reprocess", "--id", str(failed_id)])
    assert result.exit_code == 0 and f"delivery {failed_id}: failed" in result.output
    result = runner.invoke(args=["deliveries", "reprocess", "--all-failed"])
    assert result.exit_code == 0 and "failed: 1" in result.output
    result = runner.invoke(args=["deliveries", "reprocess"])
    assert result.exit_code != 0 and "exactly one" in result.output
    result = runner.invoke(args=["deliveries", "reprocess", "--id", "999"])
    assert result.exit_code != 0 and "no delivery" in result.output

    with app.app_context():
        ingest.store(notification_body("srq_cli"))
    result = runner.invoke(args=["deliveries", "apply-pending"])
    assert result.exit_code == 0 and "applied 1" in result.output
    assert scheduling_request(app, "srq_cli") is not None


def test_only_web_urls_become_the_tracked_links_booked_redirect():
    from webapp.display import http_url

    assert http_url("https://app.cronofy.com/rts/LOiwlKXQ")
    assert http_url("http://127.0.0.1:5000/sandbox/bookings/abc")
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "https:///x", 5, None):
        assert not http_url(bad)
