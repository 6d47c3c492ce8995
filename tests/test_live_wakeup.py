"""A live stream hears of a change applied in its own process at once, not at its next poll
(webapp/wakeups.py): the poll interval stays only as the fallback for other processes."""

from __future__ import annotations

import json
import threading
import time

from tests.support.deliveries import notification_body, post_signed
from tests.support.signin import sign_in
from webapp import wakeups

POLL = 5.0  # far longer than the test waits: only the wake-up can deliver the row in time


def test_a_waiter_returns_once_something_changed_and_never_misses_a_change():
    signal = wakeups.ChangeSignal()
    wait = wakeups.Waiter(signal=signal)
    started = time.monotonic()
    wait(0.05)  # nothing changed: the whole timeout
    assert time.monotonic() - started >= 0.05
    signal.notify()  # while nobody waits: the next wait returns at once
    started = time.monotonic()
    wait(POLL)
    assert time.monotonic() - started < 1
    threading.Timer(0.1, signal.notify).start()
    started = time.monotonic()
    wait(POLL)
    assert 0.05 < time.monotonic() - started < 1


def test_a_waiter_keeps_its_minimum_gap_between_polls():
    signal = wakeups.ChangeSignal()
    wait = wakeups.Waiter(min_gap=0.2, signal=signal)
    signal.notify()
    started = time.monotonic()
    wait(POLL)
    assert 0.15 < time.monotonic() - started < 1


def test_busy_waiters_poll_together_on_the_process_beat():
    signal = wakeups.ChangeSignal()
    beat = 0.2
    woke: list[float] = []
    waiters = []

    def poll(start_after):  # type: ignore[no-untyped-def]
        time.sleep(start_after)  # each last polled at its own moment
        wait = wakeups.Waiter(min_gap=0.05, gap_per_waiter=0.2, signal=signal)
        waiters.append(wait)  # counted as a listener while it exists
        time.sleep(0.1 - start_after)
        wait(beat)
        woke.append(time.monotonic())

    threads = [threading.Thread(target=poll, args=(0.03 * number,)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(woke) - min(woke) < 0.02  # started 30 and 60 ms apart, woke together
    assert all(moment % beat < 0.02 for moment in woke)


def test_the_stream_sends_a_row_applied_in_its_process_without_waiting_for_its_poll(
    app_factory, staff
):
    app = app_factory(SSE_POLL_INTERVAL=POLL, SSE_HEARTBEAT=60, SSE_MAX_DURATION=60)
    viewer = sign_in(app.test_client(), staff.id)
    response = viewer.get("/live/stream", buffered=False)
    try:
        chunks = iter(response.response)
        assert next(chunks).decode().startswith("retry: ")
        time.sleep(0.2)  # the stream has polled once and waits now
        posted = threading.Timer(
            0.2, post_signed, (app.test_client(), notification_body("srq_woken"))
        )
        posted.start()
        started = time.monotonic()
        message = next(chunks).decode()
        took = time.monotonic() - started
        posted.join()
    finally:
        response.close()
    assert "event: row" in message
    data = json.loads(message.split("data: ", 1)[1].split("\n")[0])
    assert data["id"] == "srq_woken"
    assert took < POLL / 2
