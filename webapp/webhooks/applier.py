"""The applier: one thread per process applying stored deliveries right after they are stored.

The receiver hands it each batch it commits, already read (hand_over): the applier claims
those deliveries inside its write transaction (only what is still pending: another process
may have swept them up) and applies them in batches of up to processing.BATCH, then wakes
the live streams of this process (webapp/wakeups.py). Every SWEEP_SECONDS, and once when it
starts, it also reads and applies whatever is pending, whoever stored it: what another
process or a previous run left behind, so nothing stored stays unapplied for long even when
this process receives nothing. Applying only what this process stored, on the normal path,
spares several appliers from reading and parsing the same backlog only for one of them to
claim it. While a live stream of this process waits, it also looks every WATCH_SECONDS for
changes other processes applied, so those streams hear of them without each polling the
database (the stream's own poll stays as the fallback).

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
from webapp.extensions import db
from webapp.webhooks import processing, refusals, store
from webapp.webhooks.fold import Ready

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0
MAX_HANDED = 50_000  # beyond this the applier is far behind: the sweep reads them instead
WATCH_SECONDS = 0.05
IDLE_SECONDS = 1.0  # how soon a stream opening in this process is noticed
RETRY_SECONDS = 1.0  # after a database error, doubling up to MAX_RETRY_SECONDS
MAX_RETRY_SECONDS = 30.0
_EXTENSION = "webhooks.applier"
_guard = threading.Lock()


class Applier:
    """One per app and process; see the module docstring."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            engine = db.engine
        self.app = app
        self.pid = os.getpid()
        self.inbox = processing.Inbox.from_config(engine, app.config)
        self.sweep_seconds = float(app.config.get("RECEIVER_SWEEP_SECONDS", SWEEP_SECONDS))
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._handed: list[Ready] = []
        self._handed_lock = threading.Lock()
        self._overflowed = False
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
        if self._thread is None:
            self.start()

    def hand_over(self, stored: list[Ready]) -> None:
        """Deliveries this process stored, read: apply them now."""
        with self._handed_lock:
            if len(self._handed) < MAX_HANDED:
                self._handed.extend(stored)
            else:
                self._overflowed = True
        self.wake()

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
                self._wake.clear()
                sweep = now >= next_sweep or self._overflowed
                if sweep:
                    next_sweep = now + self.sweep_seconds
                    refusals.flush(self.app)
                try:
                    self._apply_handed()
                    if sweep:
                        self._overflowed = False
                        self._apply_pending()
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

    def _apply_handed(self) -> None:
        while not self._stopping.is_set():
            with self._handed_lock:
                ready = self._handed[: processing.BATCH]
                del self._handed[: processing.BATCH]
            if not ready:
                return
            try:
                processing.apply_batch(self.inbox, processing.Batch(ready))
            except OperationalError:
                with self._handed_lock:  # not applied: they stay pending; try them again
                    self._handed[:0] = ready
                raise

    def _apply_pending(self) -> None:
        while not self._stopping.is_set():
            if len(processing.apply_pending(self.inbox)) < processing.BATCH:
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
