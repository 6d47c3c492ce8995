"""The applier: one thread per process applying stored deliveries right after they are stored.

The receiver's writer wakes it after each batch it commits. It then waits APPLY_WINDOW
seconds, so that more deliveries gather, takes the appliers' turn (one applier at a time per
SQLite database: webapp/writeturns.py) and applies every pending delivery, whoever stored it,
in batches of up to processing.BATCH, until none is left. So under load one applier applies
what all the workers stored, in large batches: a batch's fixed cost (its transaction and a
dozen statements) is paid once for many deliveries rather than for the two or three one
worker stores at a time. The deliveries its own process stored come already read (the
writer hands them over), so only the others' bodies are read again. Every SWEEP_SECONDS,
and once when it starts, it looks for pending deliveries even when nothing woke it: what
another process or a previous run left behind. After each batch it wakes the live streams of
this process (webapp/wakeups.py); while any stream is open it also looks every WATCH_SECONDS
for changes other processes applied, so those streams hear of them without each polling the
database (their own poll stays as the fallback).

gunicorn starts it in each worker after the fork (gunicorn.conf.py, post_worker_init) and
stops it on the way out (worker_exit); elsewhere (`flask run`) the first delivery starts it.
Under TESTING the receiver applies in the request thread instead (receiver.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from webapp import wakeups
from webapp.webhooks import processing, refusals, store
from webapp.webhooks.fold import Ready
from webapp.writeturns import appliers_in_turn

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0
APPLY_WINDOW = 0.02  # seconds: a few ms of latency buy batches several times larger
MAX_KNOWN = 20_000  # deliveries read by this process and not applied yet
WATCH_SECONDS = 0.05
IDLE_SECONDS = 1.0  # how soon a stream opening in this process is noticed
RETRY_SECONDS = 1.0  # after a database error, doubling up to MAX_RETRY_SECONDS
MAX_RETRY_SECONDS = 30.0
_EXTENSION = "webhooks.applier"
_guard = threading.Lock()


class Applier:
    """One per app and process; see the module docstring."""

    def __init__(self, app: Flask, *, start_on_wake: bool = True) -> None:
        self.app = app
        self.start_on_wake = start_on_wake
        self.pid = os.getpid()
        self.inbox = processing.Inbox.for_app(app)
        self.sweep_seconds = float(app.config.get("RECEIVER_SWEEP_SECONDS", SWEEP_SECONDS))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.window = float(app.config.get("RECEIVER_APPLY_WINDOW", APPLY_WINDOW))
        self._known: dict[int, Ready] = {}
        self._known_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._latest: Any = None

    def start(self) -> None:
        """Start the thread (again, after a stop)."""
        with _guard:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._run, name="applier", daemon=True)
                self._thread.start()

    def wake(self) -> None:
        """Apply what is pending now; starts the thread on first use (not after a stop)."""
        self._wake.set()
        if self._thread is None and self.start_on_wake:
            self.start()

    def hand_over(self, stored: list[Ready]) -> None:
        """Deliveries this process stored, already read: apply them now."""
        with self._known_lock:
            if len(self._known) < MAX_KNOWN:
                self._known.update((item.delivery_id, item) for item in stored)
        self.wake()

    def holding(self) -> int:
        """How many stored deliveries this process holds read, waiting to be applied."""
        return len(self._known)

    def apply_now(self) -> None:
        """Apply what is pending, in this thread (the loop's work, for the CLI and tests)."""
        with appliers_in_turn(self.inbox.engine.url):
            self._apply_pending()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the batch at hand and end; what is still pending waits for the next start
        (or another process)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        next_sweep = 0.0  # at once: whatever a previous run left pending
        retry = RETRY_SECONDS
        while not self._stopping.is_set():
            now = time.monotonic()
            if self._wake.is_set() or now >= next_sweep:
                if now >= next_sweep:
                    next_sweep = now + self.sweep_seconds
                    refusals.flush(self.app)
                else:
                    self._stopping.wait(self.window)  # let the batch grow
                self._wake.clear()
                try:
                    self.apply_now()
                    retry = RETRY_SECONDS
                except OperationalError as exc:
                    log.warning("deliveries stay pending: database error (%s)", exc)
                    self._stopping.wait(retry)
                    retry = min(retry * 2, MAX_RETRY_SECONDS)
                    self._wake.set()
                    continue
                except Exception:  # never let the thread die: the next sweep tries again
                    log.exception("applying deliveries failed")
            listening = wakeups.changes().listeners > 0
            if listening:
                self._watch()
            timeout = WATCH_SECONDS if listening else IDLE_SECONDS
            self._wake.wait(max(0.0, min(timeout, next_sweep - time.monotonic())))

    def _apply_pending(self) -> None:
        while not self._stopping.is_set():
            with self._known_lock:
                settled = list(self._known)  # each stored and committed before the look below
            # Read-only use of the live dict: only this thread removes from it.
            done = processing.apply_pending(self.inbox, known=self._known)
            with self._known_lock:
                for key in done:
                    self._known.pop(key, None)
                if len(done) < processing.BATCH:
                    # Nothing else was pending: what this process knew before the look was
                    # applied, here or by another process, and need not be kept.
                    for key in settled:
                        self._known.pop(key, None)
                    return

    def _watch(self) -> None:
        """Wake this process's streams when another process applied something."""
        try:
            with self.inbox.engine.connect() as connection:
                latest = store.latest_change(connection)
        except SQLAlchemyError:  # the streams' own polls are the fallback
            return
        if latest != self._latest:
            self._latest = latest
            wakeups.notify()


def applier(app: Flask) -> Applier:
    """This process's applier for the app (made, not started, on first use)."""
    found = app.extensions.get(_EXTENSION)
    if found is None or found.pid != os.getpid():  # never a thread object from before fork
        with _guard:
            found = app.extensions.get(_EXTENSION)
            if found is None or found.pid != os.getpid():
                found = app.extensions[_EXTENSION] = Applier(app)
    return found


def start(app: Flask) -> None:
    """Start this process's applier (gunicorn's post_worker_init); a no-op for an app
    without the receiver (the benchmarks' bare baseline runs with the same settings)."""
    if "webhooks" in app.blueprints:
        applier(app).start()


def stop(app: Flask) -> None:
    """Stop it and write this process's refusal counts (gunicorn's worker_exit)."""
    found = app.extensions.get(_EXTENSION)
    if found is not None and found.pid == os.getpid():
        found.stop()
    if "webhooks" in app.blueprints:
        refusals.flush(app)
