"""Issue 9 §2: open live streams are capped per worker and per user, over the cap the answer is
a quick 429 with Retry-After, and a stream's slot comes back when it ends or its client goes.
(The same against a real gunicorn: tests/reliability/test_stream_capacity.py.)"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.support import factories
from tests.support.signin import sign_in
from webapp import create_app
from webapp.config import ConfigError
from webapp.live.capacity import (
    RETRY_AFTER_USER_FULL,
    RETRY_AFTER_WORKER_FULL,
    StreamsFull,
    StreamSlots,
    client_gone_check,
    stream_slots,
)
from webapp.live.queries import RequestFilters
from webapp.live.stream import StreamSettings, event_stream


def capped_app(app_factory, **caps):
    return app_factory(SSE_POLL_INTERVAL=0.01, SSE_HEARTBEAT=0.05, SSE_MAX_DURATION=30, **caps)


def make_viewer(app, email: str) -> int:
    with app.app_context():
        return factories.make_user(email=email, role="staff").id


def client_of(app, user_id: int):
    return sign_in(app.test_client(), user_id)


class HeldStream:
    """One open stream, read in a thread of its own as a server would (Flask's contexts are
    per thread), until close()."""

    def __init__(self, app, user_id: int) -> None:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self._opened = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(client_of(app, user_id),))
        self._thread.start()
        assert self._opened.wait(10), "the stream did not answer"

    def _run(self, client) -> None:
        response = client.get("/live/stream", buffered=False)
        try:
            self.status, self.headers = response.status_code, dict(response.headers)
            if self.status == 200:
                assert next(iter(response.response)).decode().startswith("retry: ")
            self._opened.set()
            self._done.wait(10)
        finally:
            response.close()
            self._opened.set()

    def close(self) -> None:
        self._done.set()
        self._thread.join(10)


def test_a_user_over_their_cap_gets_a_quick_429_with_retry_after(app_factory):
    app = capped_app(app_factory, LIVE_STREAMS_PER_USER=2, LIVE_STREAMS_PER_WORKER=10)
    user = make_viewer(app, "many-tabs@example.com")
    first, second = HeldStream(app, user), HeldStream(app, user)
    try:
        assert (first.status, second.status) == (200, 200)
        began = time.monotonic()
        refused = client_of(app, user).get("/live/stream")
        took = time.monotonic() - began
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(RETRY_AFTER_USER_FULL)
        assert "live tables open" in refused.get_data(as_text=True)
        assert took < 1.0
        assert stream_slots(app).open_streams() == 2

        # A colleague is not affected by this user's cap.
        colleague = HeldStream(app, make_viewer(app, "colleague@example.com"))
        assert colleague.status == 200
        colleague.close()

        first.close()  # one tab closed: its slot is free again
        assert stream_slots(app).open_streams(user) == 1
        third = HeldStream(app, user)
        assert third.status == 200
        third.close()
    finally:
        first.close()
        second.close()
    assert stream_slots(app).open_streams() == 0


def test_a_full_worker_refuses_new_streams_and_keeps_its_other_threads(app_factory):
    app = capped_app(app_factory, LIVE_STREAMS_PER_USER=4, LIVE_STREAMS_PER_WORKER=2)
    streams = [HeldStream(app, make_viewer(app, f"user{n}@example.com")) for n in range(2)]
    try:
        assert [stream.status for stream in streams] == [200, 200]
        refused = client_of(app, make_viewer(app, "third@example.com")).get("/live/stream")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(RETRY_AFTER_WORKER_FULL)
        # Everything else still answers while the stream share is full.
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        for stream in streams:
            stream.close()
    assert stream_slots(app).open_streams() == 0


def test_the_slot_comes_back_when_the_stream_ends_by_itself(app_factory):
    app = app_factory(
        SSE_POLL_INTERVAL=0.01, SSE_HEARTBEAT=0.05, SSE_MAX_DURATION=0.2, LIVE_STREAMS_PER_USER=1
    )
    viewer = client_of(app, make_viewer(app, "solo@example.com"))
    response = viewer.get("/live/stream", buffered=False)
    assert response.status_code == 200
    assert viewer.get("/live/stream", buffered=False).status_code == 429
    chunks = list(response.response)  # runs to SSE_MAX_DURATION and stops
    assert chunks and chunks[-1].decode() == ": keep-alive\n\n"
    response.close()  # what every WSGI server does after the last chunk
    assert stream_slots(app).open_streams() == 0
    again = viewer.get("/live/stream", buffered=False)
    assert again.status_code == 200
    again.close()


def test_a_refused_stream_never_holds_a_slot(app_factory):
    app = capped_app(app_factory, LIVE_STREAMS_PER_USER=1)
    user = make_viewer(app, "refused@example.com")
    held = HeldStream(app, user)
    try:
        for _ in range(5):
            assert client_of(app, user).get("/live/stream").status_code == 429
        assert stream_slots(app).open_streams() == 1
    finally:
        held.close()
    assert stream_slots(app).open_streams() == 0


def test_concurrent_acquires_never_pass_the_worker_cap():
    slots = StreamSlots(per_worker=5, per_user=100)
    granted, refused = [], []
    barrier = threading.Barrier(20)

    def take(user_id: int) -> None:
        barrier.wait()
        try:
            granted.append(slots.acquire(user_id))
        except StreamsFull:
            refused.append(user_id)

    threads = [threading.Thread(target=take, args=(n % 3,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(granted), len(refused)) == (5, 15)
    for slot in granted:
        slot.release()
        slot.release()  # twice is harmless
    assert slots.open_streams() == 0


def test_a_gone_client_is_noticed_from_its_socket():
    ours, theirs = socket.socketpair()
    try:
        gone = client_gone_check({"gunicorn.socket": ours})
        assert gone() is False
        theirs.close()
        assert gone() is True
    finally:
        ours.close()
    assert client_gone_check({})() is False  # no socket to look at (the test client)


def test_a_gone_client_ends_the_stream_at_its_next_poll(app):
    ours, theirs = socket.socketpair()
    now = [0.0]
    settings = StreamSettings(poll_interval=1.0, heartbeat=15.0, max_duration=300.0)

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 3:
            theirs.close()  # the browser tab is closed three seconds in

    try:
        with app.test_request_context():
            chunks = list(
                event_stream(
                    RequestFilters(),
                    0,
                    settings,
                    clock=lambda: now[0],
                    sleep=sleep,
                    client_gone=client_gone_check({"gunicorn.socket": ours}),
                )
            )
    finally:
        ours.close()
    assert chunks[0].startswith("retry: ")
    assert now[0] == 3.0  # ended at the first poll after the close, not at a heartbeat


@pytest.mark.parametrize(
    ("settings", "per_worker"),
    [
        ({}, 16),  # nothing says how many threads: half of gunicorn.conf.py's default 32
        ({"WEBAPP_WORKER_THREADS": 16}, 8),
        ({"WEBAPP_WORKER_THREADS": 1}, 0),  # one thread: it is never given to a stream
        ({"WEBAPP_WORKER_THREADS": 16, "LIVE_STREAMS_PER_WORKER": 12}, 12),
    ],
)
def test_the_worker_cap_defaults_to_half_the_threads(tmp_path, monkeypatch, settings, per_worker):
    monkeypatch.delenv("WEBAPP_WORKER_THREADS", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), **settings})
    assert stream_slots(app).per_worker == per_worker
    assert stream_slots(app).per_user == 4


def test_caps_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBAPP_WORKER_THREADS", "24")
    monkeypatch.setenv("LIVE_STREAMS_PER_USER", "2")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert (stream_slots(app).per_worker, stream_slots(app).per_user) == (12, 2)


@pytest.mark.parametrize(
    "settings",
    [
        {"LIVE_STREAMS_PER_USER": 0},
        {"LIVE_STREAMS_PER_WORKER": -1},
        {"WEBAPP_WORKER_THREADS": 0},
        {"LIVE_STREAMS_PER_USER": "lots"},
    ],
)
def test_impossible_caps_are_refused_at_start(tmp_path, settings):
    with pytest.raises(ConfigError):
        create_app({"INSTANCE_PATH": str(tmp_path / "instance"), **settings})
