"""The shared outbox on its own, with a test sender kind: transactions, claims under
concurrency (SKIP LOCKED on PostgreSQL, conditional UPDATE on SQLite), retries, give-up,
hold and release, and a sender that crashes."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from webapp import outbox
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import OutboxAttempt, OutboxMessage, utcnow


class Recorder:
    def __init__(self, results: list[outbox.SendResult] | None = None) -> None:
        self.sent: list[str] = []
        self.results = list(results or [])
        self.lock = threading.Lock()

    def __call__(self, message: outbox.Message, now) -> outbox.SendResult:
        with self.lock:
            self.sent.append(message.message_id)
            return self.results.pop(0) if self.results else outbox.SendResult(ok=True, status=200)


@pytest.fixture
def recorder(app):
    sender = Recorder()
    outbox.register_sender(app, "test", sender)
    return sender


def queue(app, count: int = 1, **extra) -> list[str]:
    with app.app_context(), write_transaction():
        rows = [
            outbox.enqueue("test", topic="t", target="x", body=b"%d" % n, **extra)
            for n in range(count)
        ]
        db.session.flush()
        return [row.message_id for row in rows]


def rows(app) -> list[OutboxMessage]:
    with app.app_context():
        found = list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return found


def test_a_rolled_back_change_queues_nothing(app, recorder):
    with app.app_context(), pytest.raises(RuntimeError), write_transaction():
        outbox.enqueue("test", topic="t", target="x", body=b"{}")
        raise RuntimeError("the change failed")
    assert rows(app) == []


def test_several_workers_at_once_send_each_message_exactly_once(app, recorder):
    ids = queue(app, 40)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                for _ in range(30):
                    if outbox.run_once(limit=3).next_due is None:
                        return
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Counter(recorder.sent) == Counter(ids)  # each once, none missing
    assert all(row.delivered_at is not None and row.attempts == 1 for row in rows(app))


def test_a_crashing_sender_is_a_failure_that_is_retried(app):
    calls = []

    def broken(message, now):
        calls.append(now)
        if len(calls) == 1:
            raise ValueError("bug")
        return outbox.SendResult(ok=True, status=200)

    outbox.register_sender(app, "test", broken)
    queue(app)
    t0 = utcnow()
    with app.app_context():
        first = outbox.run_once(t0)
        assert (first.failed, first.next_due) == (1, t0 + timedelta(seconds=5))
        assert outbox.run_once(t0 + timedelta(seconds=5)).delivered == 1
    [row] = rows(app)
    assert row.attempts == 2
    with app.app_context():
        errors = [a.error for a in db.session.scalars(db.select(OutboxAttempt))]
    assert errors == ["internal error: ValueError", None]


def test_a_kind_without_sender_waits_and_says_why(app):
    queue(app)
    with app.app_context():
        assert outbox.run_once().failed == 1
    assert "no sender registered" in rows(app)[0].last_error


def test_give_up_and_hold_and_release(app, recorder):
    recorder.results = [
        outbox.SendResult(ok=False, status=410, error="gone", give_up=True),
        outbox.SendResult(ok=False, hold=True),
    ]
    queue(app, 2, target_id=7)
    with app.app_context():
        result = outbox.run_once()
        assert (result.attempted, result.failed, result.next_due) == (2, 1, None)
    gave_up, held = rows(app)
    assert gave_up.gave_up_at is not None and gave_up.attempts == 1
    assert held.held and held.attempts == 0  # a held message used no attempt
    with app.app_context(), write_transaction():
        assert outbox.release("test", 7, utcnow()) == 1
    with app.app_context():
        assert outbox.run_once().delivered == 1
    assert rows(app)[1].delivered_at is not None


def test_a_lapsed_claim_is_taken_over(app, recorder):
    queue(app)
    now = utcnow()
    with app.app_context():
        assert len(outbox.claim_due(now, "dead-worker", 10)) == 1
        assert outbox.run_once(now).attempted == 0
        later = now + timedelta(seconds=outbox.CLAIM_SECONDS + 1)
        assert outbox.run_once(later).delivered == 1
