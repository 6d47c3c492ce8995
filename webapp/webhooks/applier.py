"""The applier: one thread per process applying stored deliveries right after they are stored.

The receiver wakes it after each batch it commits; it then applies every pending delivery in
batches of up to processing.BATCH (processing.py), whoever stored them, and wakes the live
streams of this process (webapp/wakeups.py) after each batch. Every SWEEP_SECONDS, and once
when it starts, it also looks for deliveries left pending by another process or by a
previous run, so nothing stored stays unapplied for long even when this process receives
nothing. While a live stream of this process waits, it also looks every WATCH_SECONDS for
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
from sqlalchemy.exc import OperationalError

from webapp import wakeups
from webapp.extensions import db
from webapp.webhooks import processing, refusals, store

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0
WATCH_SECONDS = 0.05
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
                if now >= next_sweep:
                    next_sweep = now + self.sweep_seconds
                    refusals.flush(self.app)
                try:
                    self._apply_all()
                    retry = RETRY_SECONDS
                except OperationalError as exc:
                    log.warning("deliveries stay pending: database error (%s)", exc)
                    self._stopping.wait(retry)
                    retry = min(retry * 2, MAX_RETRY_SECONDS)
                    self._wake.set()
                    continue
                except Exception:  # never let the thread die: the next sweep tries again
                    log.exception("applying deliveries failed")
            listening = wakeups.changes().listening
            if listening:
                self._watch()
            timeout = WATCH_SECONDS if listening else next_sweep - time.monotonic()
            self._wake.wait(max(0.0, timeout))

    def _apply_all(self) -> None:
        while not self._stopping.is_set():
            done = processing.apply_pending(self.inbox)
            if done:
                wakeups.notify()
            if len(done) < processing.BATCH:
                return

    def _watch(self) -> None:
        """Wake this process's streams when another process applied something."""
        try:
            with self.inbox.engine.connect() as connection:
                latest = store.latest_change(connection)
        except OperationalError:
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
    """Start this process's applier (gunicorn's post_worker_init)."""
    applier(app).start()


def stop(app: Flask) -> None:
    """Stop it and write this process's refusal counts (gunicorn's worker_exit)."""
    found = app.extensions.get(_EXTENSION)
    if found is not None and found.pid == os.getpid():
        found.stop()
    refusals.flush(app)
