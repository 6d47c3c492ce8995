"""Applying stored deliveries (webapp/webhooks/processing.py): batches in triggered_at order,
exactly once whoever applies them, a bad delivery never holding the others back, the tie to
tracked links, reprocessing (a batch of one) and the CLI."""

from __future__ import annotations

import threading

import pytest

from tests.support import factories
from tests.support.deliveries import (
    deliveries,
    notification_body,
    post_signed,
    scheduling_request,
    store_unapplied,
)
from webapp.extensions import db
from webapp.models import Delivery, TrackedLink
from webapp.models.bookings import SchedulingRequestTerm
from webapp.webhooks import processing, store

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


def apply_one_batch(app) -> dict[int, str]:
    with app.app_context():
        return processing.apply_pending(processing.current_inbox())


def drain(app) -> dict[str, int]:
    with app.app_context():
        return dict(processing.drain(processing.current_inbox()))


def terms_of(app, srq_id: str) -> set[str]:
    row = scheduling_request(app, srq_id)
    with app.app_context():
        return set(
            db.session.execute(
                db.select(SchedulingRequestTerm.term).where(
                    SchedulingRequestTerm.scheduling_request_pk == row.id
                )
            ).scalars()
        )


# --- batches -------------------------------------------------------------------------------


def test_a_delivery_left_pending_is_applied_once(app):
    store_unapplied(app, notification_body("srq_crash"))
    assert deliveries(app)[0].status == "pending"
    assert scheduling_request(app, "srq_crash") is None
    assert drain(app) == {"applied": 1}
    assert drain(app) == {}
    assert deliveries(app)[0].status == "applied"
    assert scheduling_request(app, "srq_crash").notification_count == 1


def test_the_next_delivery_also_applies_what_another_process_left_pending(app, client):
    store_unapplied(app, notification_body("srq_left"))
    assert post_signed(client, notification_body("srq_next")).status_code == 200
    assert {d.scheduling_request_id: d.status for d in deliveries(app)} == {
        "srq_left": "applied",
        "srq_next": "applied",
    }


def test_a_batch_orders_by_triggered_at_like_one_at_a_time(app, client):
    older = notification_body(
        "srq_mix", type_="scheduling_request_time_chosen", triggered_at="2025-01-19T10:00:00Z"
    )
    newer = notification_body(
        "srq_mix",
        type_="scheduling_request_declined",
        triggered_at="2025-01-20T10:00:00Z",
        summary="Newest",
    )
    late = notification_body("srq_stale", triggered_at="2025-01-01T00:00:00Z")
    already = notification_body("srq_stale", triggered_at="2025-01-05T00:00:00Z")
    assert post_signed(client, already).status_code == 200

    # Newest first on purpose: stored in this order, applied in one batch.
    ids = [store_unapplied(app, body) for body in (newer, older, late)]
    assert apply_one_batch(app) == dict(zip(ids, ["applied", "applied", "stale"], strict=True))

    row = scheduling_request(app, "srq_mix")
    assert row.status == "declined" and row.summary == "Newest"
    assert row.notification_count == 2 and row.last_delivery_id == max(ids[:2])
    stale_row = scheduling_request(app, "srq_stale")
    assert stale_row.last_triggered_at.isoformat() == "2025-01-05T00:00:00+00:00"
    assert stale_row.notification_count == 2
    assert all(d.processed_at is not None for d in deliveries(app))


def test_several_notifications_of_one_link_in_a_batch_end_on_the_newest(app):
    link_id = tracked_link(app, "batch-link")
    booked = with_view_url("srq_link", correlation_id="batch-link")
    declined = with_view_url(
        "srq_link",
        correlation_id="batch-link",
        type_="scheduling_request_declined",
        triggered_at="2025-02-01T00:00:00Z",
    )
    store_unapplied(app, declined)
    store_unapplied(app, booked)
    assert sorted(apply_one_batch(app).values()) == ["applied", "applied"]
    assert booking_view_url(app, link_id) is None
    row = scheduling_request(app, "srq_link")
    assert row.status == "declined" and row.tracked_link_id == link_id


def test_search_terms_of_new_and_changed_requests(app, client):
    store_unapplied(app, notification_body("srq_terms", summary="Globex interview"))
    apply_one_batch(app)
    assert {"globex", "ann@example.com", "ann"} <= terms_of(app, "srq_terms")
    post_signed(
        client,
        notification_body(
            "srq_terms",
            summary="Initech interview",
            triggered_at="2025-02-01T00:00:00Z",
            recipients=[{"email": "zed@example.com", "display_name": "Zed Person"}],
        ),
    )
    terms = terms_of(app, "srq_terms")
    assert {"initech", "zed@example.com", "zed"} <= terms
    assert not {"globex", "ann@example.com", "ann"} & terms


# --- exactly once ----------------------------------------------------------------------------


def test_a_batch_read_before_another_process_applied_it_has_no_second_effect(app):
    """The batch is read outside any lock; claiming it inside the write transaction finds
    the deliveries applied meanwhile and leaves them alone."""
    store_unapplied(app, notification_body("srq_twice"))
    with app.app_context():
        inbox = processing.current_inbox()
        with inbox.engine.connect() as connection:
            read_early = store.oldest_with_status(connection, "pending", 10)
        assert processing.apply_pending(inbox) != {}  # "another process" applies it first
        before = scheduling_request(app, "srq_twice")
        assert processing.apply_rows(inbox, read_early, ("pending",)) == {}
    after = scheduling_request(app, "srq_twice")
    assert after.notification_count == 1
    assert after.updated_at == before.updated_at


def test_appliers_racing_on_the_same_backlog_apply_each_delivery_once(app):
    bodies = [
        notification_body(f"srq_race_{n % 5}", triggered_at=f"2025-01-19T16:{n:02d}:00Z")
        for n in range(40)
    ]
    for body in bodies:
        store_unapplied(app, body)
    results: list[dict[str, int]] = []
    start = threading.Barrier(4)

    def applier() -> None:
        start.wait()
        results.append(drain(app))

    threads = [threading.Thread(target=applier) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(sum(counts.values()) for counts in results) == 40
    assert {d.status for d in deliveries(app)} == {"applied"}
    for n in range(5):
        row = scheduling_request(app, f"srq_race_{n}")
        assert row.notification_count == 8
        assert row.last_triggered_at.isoformat() == f"2025-01-19T16:{35 + n:02d}:00+00:00"


# --- worked out before the write lock ------------------------------------------------------


def test_new_requests_are_folded_before_the_write_lock(app, monkeypatch):
    """What plan() works out outside the transaction is what the transaction uses."""
    link_id = tracked_link(app, "planned-link")
    plans = []
    real = store.plan

    def remembering(connection, ready, rule):
        plans.append(real(connection, ready, rule))
        return plans[-1]

    monkeypatch.setattr(store, "plan", remembering)
    store_unapplied(app, notification_body("srq_planned", correlation_id="planned-link"))
    assert list(apply_one_batch(app).values()) == ["applied"]
    [planned] = plans
    row = scheduling_request(app, "srq_planned")
    assert planned.new["srq_planned"].fold.state["id"] == row.id  # the planned fold was used
    assert row.tracked_link_id == link_id and row.notification_count == 1
    assert {"planned-link", "ann@example.com"} <= terms_of(app, "srq_planned")


def test_a_plan_is_set_aside_when_a_tracked_link_changed_before_the_lock(app, monkeypatch):
    """A tracked link created between the plan and the transaction: the request is folded
    again inside it and is tied to the link."""
    plans = []
    created: list[int] = []
    real = store.plan

    def then_a_link_appears(connection, ready, rule):
        plans.append(real(connection, ready, rule))
        created.append(tracked_link(app, "late-link"))
        return plans[-1]

    monkeypatch.setattr(store, "plan", then_a_link_appears)
    store_unapplied(app, notification_body("srq_late", correlation_id="late-link"))
    assert list(apply_one_batch(app).values()) == ["applied"]
    assert plans[0].new["srq_late"].fold.state["tracked_link_id"] is None  # as planned
    assert "id" not in plans[0].new["srq_late"].fold.state  # and not used
    assert scheduling_request(app, "srq_late").tracked_link_id == created[0]


# --- one bad delivery does not hold the others back -----------------------------------------


def test_a_batch_that_cannot_be_applied_is_applied_one_at_a_time(app, monkeypatch):
    real = store.apply_notifications
    calls = []

    def failing_for_batches(connection, ready, now, rule, planned=None):
        calls.append(len(ready))
        if len(ready) > 1:
            raise RuntimeError("a bug in applying batches")
        return real(connection, ready, now, rule, planned)

    monkeypatch.setattr(store, "apply_notifications", failing_for_batches)
    store_unapplied(app, notification_body("srq_a"))
    store_unapplied(app, notification_body("srq_b"))
    assert sorted(apply_one_batch(app).values()) == ["applied", "applied"]
    assert calls == [2, 1, 1]
    assert {d.status for d in deliveries(app)} == {"applied"}


def test_a_delivery_that_always_breaks_applying_is_failed_with_the_reason(app, monkeypatch):
    real = store.apply_notifications

    def breaking_on_one(connection, ready, now, rule, planned=None):
        if any(i.notification.scheduling_request_id == "srq_bug" for i in ready):
            raise KeyError("boom")
        return real(connection, ready, now, rule, planned)

    monkeypatch.setattr(store, "apply_notifications", breaking_on_one)
    store_unapplied(app, notification_body("srq_fine"))
    bug = store_unapplied(app, notification_body("srq_bug"))
    assert drain(app) == {"applied": 1, "failed": 1}
    failed = next(d for d in deliveries(app) if d.id == bug)
    assert failed.status == "failed"
    assert failed.error == "Internal error while applying: KeyError"
    assert scheduling_request(app, "srq_fine").notification_count == 1


# --- reprocessing: a batch of one ------------------------------------------------------------


def test_reprocess_keeps_failing_for_a_broken_body_with_its_error(app, client):
    assert post_signed(client, b'{"notification": [], "scheduling_request": {}}').get_json() == {
        "status": "failed"
    }
    [delivery] = deliveries(app)
    with app.app_context():
        inbox = processing.current_inbox()
        assert processing.reprocess(inbox, delivery.id) == "failed"
        assert processing.reprocess_failed(inbox) == {"failed": 1}
    [delivery] = deliveries(app)
    assert delivery.status == "failed"
    assert "notification should be an object" in delivery.error


def test_reprocess_applies_a_delivery_that_failed_for_another_reason(app, client):
    post_signed(client, notification_body("srq_retry"))
    with app.app_context():
        delivery = db.session.execute(db.select(Delivery)).scalar_one()
        delivery.status, delivery.error = "failed", "Internal error while applying: boom"
        db.session.commit()
        assert processing.reprocess_failed(processing.current_inbox()) == {"applied": 1}
    [delivery] = deliveries(app)
    assert delivery.status == "applied" and delivery.error is None
    assert scheduling_request(app, "srq_retry").notification_count == 1


def test_applied_deliveries_are_not_reprocessed(app, client):
    post_signed(client, notification_body())
    delivery_id = deliveries(app)[0].id
    with app.app_context():
        inbox = processing.current_inbox()
        with pytest.raises(processing.NotReprocessable):
            processing.reprocess(inbox, delivery_id)
        with pytest.raises(processing.DeliveryNotFound):
            processing.reprocess(inbox, delivery_id + 100)


# --- the tie to tracked links ----------------------------------------------------------------


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


# --- the CLI -------------------------------------------------------------------------------


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

    store_unapplied(app, notification_body("srq_cli"))
    result = runner.invoke(args=["deliveries", "apply-pending"])
    assert result.exit_code == 0 and "applied 1" in result.output
    assert scheduling_request(app, "srq_cli") is not None


def test_an_applier_forgets_what_another_process_applied(app):
    """A process keeps the deliveries it stored, already read, for its applier. When another
    process's applier applied them first, they are dropped at the next look, not carried
    (and copied on every batch) until they age out."""
    from webapp.webhooks import applier as appliers
    from webapp.webhooks import payload
    from webapp.webhooks.fold import Ready

    bodies = [notification_body(f"srq_other_{n}") for n in range(3)]
    for body in bodies:
        store_unapplied(app, body)
    mine = appliers.Applier(app, start_on_wake=False)  # its work is run here, in this thread
    stored = deliveries(app)
    mine.hand_over(
        [Ready(row.id, row.received_at, payload.parse(body)) for row, body in zip(stored, bodies)]
    )
    assert mine.holding() == 3
    assert drain(app) == {"applied": 3}  # "another process" applies them first
    mine.apply_now()
    assert mine.holding() == 0
    assert {d.status for d in deliveries(app)} == {"applied"}
