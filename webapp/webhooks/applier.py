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

Under gunicorn the applying is done by a process of its own, `flask deliveries run-applier`,
which gunicorn.conf.py starts beside the workers (`serve()` below): the receiver rings its
doorbell (webapp/doorbell.py) after each batch it stores. Applying is Python work that holds
the GIL for long stretches; in a worker it competed with the request threads for it, and on
its own the receiver answers about a tenth more deliveries a second (benchmarks/README.md).
Each worker still runs an Applier thread, which wakes its live streams when the applier
process applied something (the watch above), sweeps every SWEEP_SECONDS, and applies what its
worker stores whenever no applier process answers the doorbell (none started, or it died):
slower, never lost. gunicorn starts that thread in each worker after the fork
(post_worker_init) and stops it on the way out (worker_exit); elsewhere (`flask run`) the
first delivery starts it. Under TESTING the receiver applies in the request thread instead
(receiver.py).
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import socket
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from webapp import doorbell, wakeups
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
        self.bell = doorbell.address(database_key(self.inbox.engine.url))
        self._ringing = True  # the last ring was answered (for logging a change once)
        self._listener: socket.socket | None = None  # the doorbell, in the applier process

    def start(self, sweep_now: bool = True) -> None:
        """Start the thread (again, after a stop); its first sweep at once, or after
        SWEEP_SECONDS when the caller has just applied what was pending."""
        with _guard:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                first_sweep = 0.0 if sweep_now else time.monotonic() + self.sweep_seconds
                self._thread = threading.Thread(
                    target=self._run, args=(first_sweep,), name="applier", daemon=True
                )
                self._thread.start()

    def wake(self) -> None:
        """Apply what is pending now; starts the thread on first use (not after a stop)."""
        self._wake.set()
        if self._thread is None and self.start_on_wake:
            self.start()

    def answer(self, doorbell_listener: socket.socket) -> None:
        """Wait on this doorbell (bound, non-blocking) between batches: the applier process."""
        self._listener = doorbell_listener

    def stored(self, stored: list[Ready]) -> None:
        """Deliveries this process stored (committed): ring the applier process, or, when
        none answers, apply them in this process (they come read already)."""
        ringing = doorbell.ring(self.bell)
        if ringing != self._ringing:
            self._ringing = ringing
            if ringing:
                log.info("the applier process answers again; this worker stops applying")
            else:
                log.info("no applier process answers; this process applies what it stores")
        if not ringing:
            self.hand_over(stored)

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
        if self._listener is not None:
            doorbell.ring(self.bell)  # out of its select() at once
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self, next_sweep: float) -> None:
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
            self._sleep(max(0.0, min(timeout, next_sweep - time.monotonic())))

    def _sleep(self, timeout: float) -> None:
        """Until woken (or the doorbell rings, in the applier process) or `timeout`. This
        thread reads the doorbell itself, and only here: rings that come while it applies
        wait in the socket and count as one, where a thread of their own would take the GIL
        from the applying at every ring."""
        if self._listener is None:
            self._wake.wait(timeout)
            return
        if not self._wake.is_set() and select.select([self._listener], [], [], timeout)[0]:
            self._wake.set()
        try:
            while True:
                self._listener.recv(16)
        except BlockingIOError:
            pass

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


def database_key(url: URL) -> str:
    """What names one database for the doorbell, however its URL is spelt (driver, options,
    password): its kind, server and name; a SQLite file by its full path."""
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        database = os.path.abspath(database)
    return f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{database}"


def serve(app: Flask, parent: int | None = None) -> None:
    """Be the applier process until SIGTERM or SIGINT (or, with `parent`, until that process
    is gone): the Applier's thread waits on the doorbell and applies at each ring. It is
    `flask deliveries run-applier`, which gunicorn.conf.py starts. While another applier
    process holds this database's doorbell (a server being replaced, a second server on the
    same machine and database), it waits and takes over when that one is gone."""
    if not doorbell.supported():  # no one could ring it: the workers apply themselves
        log.warning("not applying: the applier process needs Linux (abstract unix sockets)")
        return
    found = applier(app)
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)

    def running() -> bool:
        return not stopping.is_set() and (parent is None or os.getppid() == parent)

    listener = None
    waited = False
    while listener is None and running():
        try:
            # What is pending first: once the doorbell answers, nothing stored before it
            # waits for a sweep (what the tests' servers rely on when they are "up").
            found.apply_now()
        except SQLAlchemyError as exc:
            log.warning("deliveries stay pending: database error (%s)", exc)
        try:
            listener = doorbell.listen(found.bell)
        except OSError:
            if not waited:
                log.warning("waiting: another applier process serves this database")
            waited = True
            stopping.wait(IDLE_SECONDS)
    if listener is None:
        return
    listener.setblocking(False)
    found.answer(listener)
    gc.freeze()  # what is loaded lives as long as the process (gunicorn.conf.py says why)
    found.start(sweep_now=False)  # what was pending was applied just before listening
    log.info("applier process %d applies the deliveries the workers store", os.getpid())
    try:
        while running():
            stopping.wait(IDLE_SECONDS)
        if not stopping.is_set():
            log.warning("the server that started this applier process is gone")
    finally:
        found.stop()
        listener.close()


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
