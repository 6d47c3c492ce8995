"""How many live streams a worker keeps open, and noticing a stream's client has gone.

Each open `/live/stream` holds one of its gunicorn worker's threads for as long as it is open.
Without a limit, one signed-in person opening a hundred streams took every thread, and
`/healthz`, `/login` and the receiver timed out. So each worker process keeps at most
`LIVE_STREAMS_PER_WORKER` streams open (by default half its threads, the other half always
free for ordinary requests and the receiver) and at most `LIVE_STREAMS_PER_USER` per person;
a stream over either cap is answered at once with 429 and `Retry-After`, and the page says
live updates are paused (static/js/live.js).

The bookkeeping is per process, like the threads it protects: with several workers a person
may hold up to `LIVE_STREAMS_PER_USER` streams on each.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask

EXTENSION_KEY = "live_stream_slots"
# Seconds a refused stream is told to wait. A full worker frees a slot as soon as any of its
# streams ends (or its next connection may land on another worker); a person at their own cap
# has to close a page first.
RETRY_AFTER_WORKER_FULL = 5
RETRY_AFTER_USER_FULL = 30
# Used when nothing says how many threads a worker has (not under gunicorn.conf.py).
DEFAULT_WORKER_THREADS = 32


def streams_per_worker(config: Mapping[str, Any]) -> int:
    """LIVE_STREAMS_PER_WORKER, or half of the worker's threads when it is not set."""
    configured = config.get("LIVE_STREAMS_PER_WORKER")
    if configured is not None:
        return int(configured)
    threads = int(config.get("WEBAPP_WORKER_THREADS") or DEFAULT_WORKER_THREADS)
    return threads // 2


class StreamsFull(Exception):
    """A stream refused for now: the message says why, retry_after how long to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class Slot:
    """One open stream's place; release() is safe to call more than once."""

    def __init__(self, slots: StreamSlots, user_id: int) -> None:
        self.slots = slots
        self.user_id = user_id
        self.released = False

    def release(self) -> None:
        self.slots.release(self)


class StreamSlots:
    """The open streams of one worker process, counted in total and per user."""

    def __init__(self, per_worker: int, per_user: int) -> None:
        self.per_worker = per_worker
        self.per_user = per_user
        self._lock = threading.Lock()
        self._by_user: Counter[int] = Counter()
        self._total = 0

    def acquire(self, user_id: int) -> Slot:
        """A slot for a new stream of user_id; StreamsFull when a cap is reached."""
        with self._lock:
            if self._by_user[user_id] >= self.per_user:
                raise StreamsFull(
                    f"You already have {self._by_user[user_id]} live tables open here "
                    f"(at most {self.per_user}); close one, or refresh this page later.",
                    RETRY_AFTER_USER_FULL,
                )
            if self._total >= self.per_worker:
                raise StreamsFull(
                    "Live updates are busy right now; the page will try again shortly.",
                    RETRY_AFTER_WORKER_FULL,
                )
            self._by_user[user_id] += 1
            self._total += 1
            return Slot(self, user_id)

    def open_streams(self, user_id: int | None = None) -> int:
        """How many streams are open in this worker (of user_id, when given)."""
        with self._lock:
            return self._total if user_id is None else self._by_user[user_id]

    def release(self, slot: Slot) -> None:
        with self._lock:
            if slot.released:
                return
            slot.released = True
            self._total -= 1
            self._by_user[slot.user_id] -= 1
            if self._by_user[slot.user_id] <= 0:
                del self._by_user[slot.user_id]


def stream_slots(app: Flask) -> StreamSlots:
    """This app's (this worker process's) stream ledger, made on first use."""
    slots = app.extensions.get(EXTENSION_KEY)
    if slots is None:
        slots = app.extensions.setdefault(
            EXTENSION_KEY,
            StreamSlots(
                per_worker=streams_per_worker(app.config),
                per_user=int(app.config["LIVE_STREAMS_PER_USER"]),
            ),
        )
    return slots


def _never_gone() -> bool:
    return False


def client_gone_check(environ: Mapping[str, Any]) -> Callable[[], bool]:
    """A cheap test of whether the stream's client has hung up, for the stream to call often.

    A quiet stream writes only its keep-alive (every SSE_HEARTBEAT, 15 s), and the first write
    to a closed connection still succeeds, so a gone client used to keep its thread and slot
    for 15 s or more. gunicorn hands the application its socket: a peer that has closed makes
    the socket readable with nothing to read (an SSE client sends nothing after its request).
    Elsewhere (the test client, TLS terminated by gunicorn itself) the keep-alive write still
    notices.
    """
    sock = environ.get("gunicorn.socket")
    flags = getattr(socket, "MSG_PEEK", 0) | getattr(socket, "MSG_DONTWAIT", 0)
    if type(sock) is not socket.socket or not hasattr(socket, "MSG_DONTWAIT"):
        return _never_gone

    def gone() -> bool:
        try:
            return sock.recv(1, flags) == b""
        except (BlockingIOError, InterruptedError):
            return False  # open, nothing sent: the normal case
        except OSError:
            return True  # reset or closed under us

    return gone
