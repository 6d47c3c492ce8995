"""Group commit in the receiver: concurrent deliveries share one write transaction, each is
answered only once that transaction has committed, and a batch gives exactly what applying
its deliveries one at a time in triggered_at order gives."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import OperationalError

from tests.test_ingest import booking_view_url, tracked_link, with_view_url
from tests.test_receiver import deliveries, notification_body, post_signed, scheduling_request
from webapp.extensions import db
from webapp.webhooks import ingest, turns, writer
from webapp.webhooks.batcher import Busy, GroupCommit, WriteFailed

WAIT = 10.0


def wait_for(condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)


@contextmanager
def writes_held_up(app):
    """Hold up the receiver's next write. SQLite: take the workers' writing turn, so the
    leader waits before taking its batch; PostgreSQL: lock the deliveries table, so the
    leader waits at its INSERT, having taken only what was queued when it began."""
    with app.app_context():
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            with turns.writers_in_turn(url):
                yield
            return
        with db.engine.connect() as connection:
            connection.exec_driver_sql("LOCK TABLE deliveries IN EXCLUSIVE MODE")
            yield
            connection.rollback()


def is_sqlite(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def receiver_state(app):
    return app.extensions.get("webhooks.receiver")


def write_directly(app, bodies: list[bytes]) -> list[str]:
    """One batch through the receiver's own write path, without HTTP."""
    with app.app_context():
        items = [writer.prepare(body) for body in bodies]
        return ingest._write(lambda: items)


# --- the group commit itself (pure threading) --------------------------------------------


def test_items_queued_while_the_leader_waits_join_its_batch():
    group: GroupCommit[int, int] = GroupCommit()
    gate = threading.Event()
    batches: list[list[int]] = []

    def write(take):
        gate.wait(WAIT)  # the leader waits for the write lock; the others queue meanwhile
        items = take()
        batches.append(items)
        return [item * 10 for item in items]

    with ThreadPoolExecutor(max_workers=5) as pool:
        futures = [pool.submit(group.submit, n, write, WAIT) for n in range(5)]
        wait_for(lambda: group.waiting == 5)  # the leader, waiting, has taken nothing yet
        gate.set()
        results = [future.result(WAIT) for future in futures]
    assert results == [0, 10, 20, 30, 40]
    assert [sorted(batch) for batch in batches] == [[0, 1, 2, 3, 4]]
    assert group.batches == 1 and group.largest_batch == 5


def test_a_failed_write_fails_every_item_of_its_batch_and_only_that_batch():
    group: GroupCommit[int, int] = GroupCommit()
    gate = threading.Event()
    calls = []

    def write(take):
        calls.append(1)
        if len(calls) == 1:
            gate.wait(WAIT)
            take()
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return take()

    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(group.submit, n, write, WAIT) for n in range(3)]
        wait_for(lambda: group.waiting == 3)
        gate.set()
        for future in futures:
            with pytest.raises(WriteFailed, match="disk I/O error"):
                future.result(WAIT)
    assert group.submit(7, write, WAIT) == 7  # the next batch is a fresh start


def test_an_item_not_taken_in_time_is_busy_and_never_written():
    group: GroupCommit[str, str] = GroupCommit()
    gate, taken = threading.Event(), threading.Event()
    written: list[str] = []

    def write(take):
        items = take()  # the leader's batch is only its own item
        taken.set()
        gate.wait(WAIT)
        written.extend(items)
        return items

    with ThreadPoolExecutor(max_workers=2) as pool:
        leader = pool.submit(group.submit, "first", write, WAIT)
        assert taken.wait(WAIT)
        late = pool.submit(group.submit, "late", write, 0.2)
        with pytest.raises(Busy):
            late.result(WAIT)
        gate.set()
        assert leader.result(WAIT) == "first"
    assert written == ["first"]
    assert group.waiting == 0


# --- the receiver's batches ----------------------------------------------------------------


def test_concurrent_deliveries_share_one_transaction(app):
    """The turn is held, so the first request waits for it and the others queue behind;
    once it is free, one transaction stores and applies all of them."""
    bodies = [notification_body(f"srq_group_{n}") for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        with writes_held_up(app):
            futures = [pool.submit(post_signed, app.test_client(), body) for body in bodies]
            wait_for(lambda: receiver_state(app) is not None)
            wait_for(lambda: receiver_state(app).group.waiting == len(bodies))
        answers = [future.result(WAIT) for future in futures]
    assert [(a.status_code, a.get_json()) for a in answers] == [(200, {"status": "applied"})] * 6
    group = receiver_state(app).group
    # On PostgreSQL the first leader took what was queued when it began: not everything.
    assert group.largest_batch == 6 if is_sqlite(app) else group.largest_batch > 1
    stored = deliveries(app)
    assert sorted(d.scheduling_request_id for d in stored) == sorted(
        f"srq_group_{n}" for n in range(6)
    )
    assert {d.status for d in stored} == {"applied"}
    assert scheduling_request(app, "srq_group_3").notification_count == 1


def test_a_batch_dedupes_reads_and_orders_like_one_at_a_time(app, client):
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
    assert post_signed(client, already).get_json() == {"status": "applied"}

    # Newest first on purpose, the same body twice, a body already stored, bad JSON.
    outcomes = write_directly(app, [newer, older, newer, already, b"{broken", late])
    assert outcomes == ["applied", "applied", "duplicate", "duplicate", "failed", "stale"]

    row = scheduling_request(app, "srq_mix")
    assert row.status == "declined" and row.summary == "Newest"
    assert row.notification_count == 2
    stale_row = scheduling_request(app, "srq_stale")
    assert stale_row.last_triggered_at.isoformat() == "2025-01-05T00:00:00+00:00"
    assert stale_row.notification_count == 2
    by_status = {}
    for delivery in deliveries(app):
        by_status.setdefault(delivery.status, []).append(delivery)
    assert len(by_status["failed"]) == 1 and "not JSON" in by_status["failed"][0].error
    assert len(by_status["stale"]) == 1 and len(by_status["applied"]) == 3
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
    assert write_directly(app, [declined, booked]) == ["applied", "applied"]
    assert booking_view_url(app, link_id) is None
    row = scheduling_request(app, "srq_link")
    assert row.status == "declined" and row.tracked_link_id == link_id


def test_search_terms_of_new_and_changed_requests(app, client):
    write_directly(app, [notification_body("srq_terms", summary="Globex interview")])
    post_signed(
        client,
        notification_body(
            "srq_terms",
            summary="Initech interview",
            triggered_at="2025-02-01T00:00:00Z",
            recipients=[{"email": "zed@example.com", "display_name": "Zed Person"}],
        ),
    )
    row = scheduling_request(app, "srq_terms")
    with app.app_context():
        from webapp.models.bookings import SchedulingRequestTerm

        terms = set(
            db.session.execute(
                db.select(SchedulingRequestTerm.term).where(
                    SchedulingRequestTerm.scheduling_request_pk == row.id
                )
            ).scalars()
        )
    assert {"initech", "zed@example.com", "zed"} <= terms
    assert not {"globex", "ann@example.com", "ann"} & terms


def test_a_batch_that_cannot_be_applied_is_stored_and_applied_one_by_one(app, monkeypatch):
    real_apply = writer.apply_batch

    def apply_failing_once(connection, ready, now):
        monkeypatch.setattr(writer, "apply_batch", real_apply)
        raise RuntimeError("a bug in applying")

    monkeypatch.setattr(writer, "apply_batch", apply_failing_once)
    outcomes = write_directly(app, [notification_body("srq_a"), notification_body("srq_b")])
    assert outcomes == ["applied", "applied"]
    assert {d.status for d in deliveries(app)} == {"applied"}
    assert scheduling_request(app, "srq_b").notification_count == 1


def test_a_delivery_that_cannot_be_stored_is_503_and_not_acknowledged(app, client, monkeypatch):
    def database_down(take):
        take()
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(writer, "write_batch", database_down)
    response = post_signed(client, notification_body("srq_down"))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "not_stored"
    assert deliveries(app) == []
    monkeypatch.undo()
    assert post_signed(client, notification_body("srq_down")).status_code == 200


def test_waiting_longer_than_the_limit_is_503_and_the_body_is_not_stored(app_factory):
    app = app_factory(RECEIVER_WAIT_SECONDS=0.3)
    first, second = notification_body("srq_first"), notification_body("srq_second")
    with ThreadPoolExecutor(max_workers=2) as pool:
        with writes_held_up(app):
            leader = pool.submit(post_signed, app.test_client(), first)
            wait_for(lambda: receiver_state(app) is not None)
            wait_for(lambda: receiver_state(app).group.waiting == 1)
            time.sleep(0.2)  # the leader is now waiting for the write lock
            follower = pool.submit(post_signed, app.test_client(), second)
            answer = follower.result(WAIT)
            assert answer.status_code == 503
        assert leader.result(WAIT).get_json() == {"status": "applied"}
    assert [d.scheduling_request_id for d in deliveries(app)] == ["srq_first"]


def test_the_sweep_runs_at_most_once_per_interval(app, client, monkeypatch):
    from datetime import timedelta

    from webapp.models import utcnow

    post_signed(client, notification_body("srq_opens"))  # the first delivery sweeps
    with app.app_context():
        ingest.store(notification_body("srq_left"), received_at=utcnow() - timedelta(minutes=5))
    post_signed(client, notification_body("srq_soon"))
    assert scheduling_request(app, "srq_left") is None  # swept a moment ago: not yet
    monkeypatch.setattr(ingest, "SWEEP_INTERVAL", 0.0)
    post_signed(client, notification_body("srq_later"))
    assert scheduling_request(app, "srq_left").notification_count == 1


def test_a_request_created_meanwhile_by_another_worker_is_updated_not_duplicated(app, client):
    """PostgreSQL: another transaction creates the request between this batch's look-up
    and its INSERT; the batch waits for it, then applies onto that row."""
    if is_sqlite(app):
        pytest.skip("SQLite writers never overlap: the whole database is locked")
    from sqlalchemy import insert

    from webapp.models import SchedulingRequest, utcnow

    body = notification_body("srq_raced", summary="From the batch")
    with app.app_context(), db.engine.connect() as other:
        other.execute(
            insert(SchedulingRequest.__table__).values(
                scheduling_request_id="srq_raced",
                status="time_chosen",
                recipients=[],
                recipient_operations={},
                captured_data={},
                utm={},
                notification_count=0,
                first_notified_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(post_signed, app.test_client(), body)
            time.sleep(0.5)  # the batch now waits on the uncommitted row
            assert not answer.done()
            other.commit()
            assert answer.result(WAIT).get_json() == {"status": "applied"}
    row = scheduling_request(app, "srq_raced")
    assert row.summary == "From the batch" and row.notification_count == 1
