"""Storing deliveries in groups (webapp/groupcommit.py, webapp/webhooks/receiver.py) and the
applier thread that applies them off the request (webapp/webhooks/applier.py).

Concurrent deliveries share one write transaction, each is answered only once that
transaction has committed, and none waits longer than RECEIVER_WAIT_SECONDS for it: then the
answer is 503 with Retry-After, and the body is not stored.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import OperationalError

from tests.support.deliveries import (
    deliveries,
    notification_body,
    post_signed,
    scheduling_request,
    store_unapplied,
)
from webapp.extensions import db
from webapp.groupcommit import Busy, GroupCommit, WriteFailed
from webapp.webhooks import applier, receiver, store
from webapp.writeturns import writers_in_turn

WAIT = 10.0


def wait_for(condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.005)


@contextmanager
def writes_held_up(app):
    """Hold up the receiver's next write. SQLite: take the writers' turn, so the writer
    waits before taking its batch; PostgreSQL: lock the deliveries table, so the writer
    waits at its INSERT, having taken only what was queued when it began."""
    with app.app_context():
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            with writers_in_turn(url):
                yield
            return
        with db.engine.connect() as connection:
            connection.exec_driver_sql("LOCK TABLE deliveries IN EXCLUSIVE MODE")
            yield
            connection.rollback()


def is_sqlite(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def group_of(app):
    return receiver.receiver_for(app).group


# --- the group commit itself (pure threading) --------------------------------------------


def test_items_queued_while_the_writer_waits_join_its_batch():
    gate = threading.Event()
    batches: list[list[int]] = []

    def write(take):
        gate.wait(WAIT)  # the writer waits for the write lock; the others queue meanwhile
        items = take()
        batches.append(items)
        return [item * 10 for item in items]

    group: GroupCommit[int, int] = GroupCommit(write)
    with ThreadPoolExecutor(max_workers=5) as pool:
        futures = [pool.submit(group.submit, n, WAIT) for n in range(5)]
        wait_for(lambda: group.waiting == 5)  # the writer, waiting, has taken nothing yet
        gate.set()
        results = [future.result(WAIT) for future in futures]
    assert results == [0, 10, 20, 30, 40]
    assert [sorted(batch) for batch in batches] == [[0, 1, 2, 3, 4]]
    assert group.batches == 1 and group.largest_batch == 5
    group.close()


def test_a_failed_write_fails_every_item_of_its_batch_and_only_that_batch():
    gate = threading.Event()
    calls = []

    def write(take):
        calls.append(1)
        if len(calls) == 1:
            gate.wait(WAIT)
            take()
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return take()

    group: GroupCommit[int, int] = GroupCommit(write)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(group.submit, n, WAIT) for n in range(3)]
        wait_for(lambda: group.waiting == 3)
        gate.set()
        for future in futures:
            with pytest.raises(WriteFailed, match="disk I/O error"):
                future.result(WAIT)
    assert group.submit(7, WAIT) == 7  # the next batch is a fresh start
    group.close()


def test_an_item_not_taken_in_time_is_busy_and_never_written():
    gate, taken = threading.Event(), threading.Event()
    written: list[str] = []

    def write(take):
        items = take()  # the first batch is only the first item
        taken.set()
        gate.wait(WAIT)
        written.extend(items)
        return items

    group: GroupCommit[str, str] = GroupCommit(write)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(group.submit, "first", WAIT)
        assert taken.wait(WAIT)
        late = pool.submit(group.submit, "late", 0.2)
        with pytest.raises(Busy, match="not written"):
            late.result(WAIT)
        gate.set()
        assert first.result(WAIT) == "first"
    group.close()
    assert written == ["first"]
    assert group.waiting == 0


def test_a_caller_waits_no_longer_than_its_timeout_even_for_its_own_batch():
    """The write may be stuck (a lock another process holds): the caller still gets its
    answer in time, told that its item may or may not be written."""
    gate = threading.Event()

    def write(take):
        take()
        gate.wait(WAIT)
        return ["done"]

    group: GroupCommit[str, str] = GroupCommit(write)
    started = time.monotonic()
    with pytest.raises(Busy, match="not known to be written"):
        group.submit("stuck", 0.3)
    assert time.monotonic() - started < 2
    gate.set()
    group.close()


# --- the receiver's batches ----------------------------------------------------------------


def test_concurrent_deliveries_share_one_transaction(app):
    """The turn is held, so the writer waits for it and the others queue behind; once it
    is free, one transaction stores all of them."""
    bodies = [notification_body(f"srq_group_{n}") for n in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        with writes_held_up(app):
            futures = [pool.submit(post_signed, app.test_client(), body) for body in bodies]
            wait_for(lambda: group_of(app).waiting == len(bodies))
        answers = [future.result(WAIT) for future in futures]
    assert [(a.status_code, a.get_json()) for a in answers] == [(200, {"status": "stored"})] * 6
    group = group_of(app)
    # On PostgreSQL the first batch took what was queued when it began: not everything.
    assert group.largest_batch == 6 if is_sqlite(app) else group.largest_batch > 1
    stored = deliveries(app)
    assert sorted(d.scheduling_request_id for d in stored) == sorted(
        f"srq_group_{n}" for n in range(6)
    )
    assert {d.status for d in stored} == {"applied"}
    assert scheduling_request(app, "srq_group_3").notification_count == 1


def test_the_same_body_twice_in_one_batch_is_stored_once(app):
    body = notification_body("srq_twin")
    with ThreadPoolExecutor(max_workers=2) as pool:
        with writes_held_up(app):
            futures = [pool.submit(post_signed, app.test_client(), body) for _ in range(2)]
            wait_for(lambda: group_of(app).waiting == 2)
        answers = sorted(future.result(WAIT).get_json()["status"] for future in futures)
    assert answers == ["duplicate", "stored"]
    assert len(deliveries(app)) == 1
    assert scheduling_request(app, "srq_twin").notification_count == 1


def test_a_delivery_that_cannot_be_stored_is_503_and_not_acknowledged(app, client, monkeypatch):
    def database_down(connection, rows):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "insert_deliveries", database_down)
    response = post_signed(client, notification_body("srq_down"))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "not_stored"
    assert deliveries(app) == []
    monkeypatch.undo()
    assert post_signed(client, notification_body("srq_down")).status_code == 200


def test_the_answer_comes_within_the_wait_limit_even_for_a_lone_delivery(app_factory):
    """Issue 9: a delivery could wait 25 s and more for its batch (the first one of a
    batch waited for the write lock without any limit). Now every delivery is answered
    within RECEIVER_WAIT_SECONDS: 503 + Retry-After. Cronofy retries, and the retry is
    stored once: fresh if the first try never got written (held before its batch began,
    as on SQLite here), a duplicate if it was written after the answer (held at its
    INSERT, as on PostgreSQL here)."""
    app = app_factory(RECEIVER_WAIT_SECONDS=0.3)
    body = notification_body("srq_lone")
    with writes_held_up(app):
        started = time.monotonic()
        answer = post_signed(app.test_client(), body)
        took = time.monotonic() - started
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "5"
        assert took < 3
    wait_for(lambda: group_of(app).waiting == 0)
    retry = post_signed(app.test_client(), body)
    assert retry.status_code == 200
    assert retry.get_json()["status"] == ("stored" if is_sqlite(app) else "duplicate")
    assert [d.scheduling_request_id for d in deliveries(app)] == ["srq_lone"]
    assert scheduling_request(app, "srq_lone").notification_count == 1


def test_the_default_wait_limit_is_well_within_ten_seconds(app):
    assert receiver.receiver_for(app).wait <= 8


def test_a_request_created_meanwhile_by_another_worker_is_updated_not_duplicated(app, client):
    """PostgreSQL: another transaction creates the request between the batch's look-up and
    its INSERT; the batch waits for it, then applies onto that row."""
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
            time.sleep(0.5)  # applying (in the request, under TESTING) waits on the row
            assert not answer.done()
            other.commit()
            assert answer.result(WAIT).get_json() == {"status": "stored"}
    row = scheduling_request(app, "srq_raced")
    assert row.summary == "From the batch" and row.notification_count == 1


# --- the applier thread: the path gunicorn runs ----------------------------------------------


@pytest.fixture
def background_app(app_factory):
    app = app_factory(RECEIVER_APPLY_INLINE=False, RECEIVER_SWEEP_SECONDS=0.5)
    yield app
    applier.stop(app)


def applied(app, srq_id: str) -> bool:
    row = scheduling_request(app, srq_id)
    return row is not None and row.notification_count == 1


def test_the_applier_applies_after_the_acknowledgement(background_app):
    client = background_app.test_client()
    answer = post_signed(client, notification_body("srq_background"))
    assert answer.get_json() == {"status": "stored"}
    wait_for(lambda: applied(background_app, "srq_background"))
    assert [d.status for d in deliveries(background_app)] == ["applied"]


def test_the_applier_sweeps_up_what_another_process_left_pending(background_app):
    applier.start(background_app)
    store_unapplied(background_app, notification_body("srq_orphan"))  # nobody wakes it
    wait_for(lambda: applied(background_app, "srq_orphan"))


def test_a_stopped_applier_leaves_the_rest_pending_for_the_next_start(background_app):
    applier.start(background_app)
    applier.stop(background_app)
    store_unapplied(background_app, notification_body("srq_later"))
    time.sleep(1.0)  # two sweep intervals: a running applier would have applied it
    assert scheduling_request(background_app, "srq_later") is None
    applier.start(background_app)
    wait_for(lambda: applied(background_app, "srq_later"))
