"""The worker that sends due outbox messages: one thread per process, safe in any number.

Under gunicorn every worker process runs one such thread (started by gunicorn.conf.py's
post_worker_init, or lazily on the process's first request); the database claims in
store.py make any number of them safe, on one server or several. Tests and the CLI call
run_once()/drain() instead, with an injected clock (OUTBOX_WORKER is off under TESTING).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app, has_app_context

from webapp.extensions import db
from webapp.models import utcnow
from webapp.outbox import store
from webapp.outbox.senders import SendResult, registry

log = logging.getLogger(__name__)

BATCH_SIZE = 5
IDLE_POLL_SECONDS = 5.0  # also picks up messages other processes queued, and lapsed claims
TICK_SECONDS = 60.0
EXTENSION = "webapp.outbox.worker"

_PROCESS_TOKEN = secrets.token_hex(6)
_lock = threading.Lock()


@dataclass(frozen=True)
class Round:
    """What one round did, and when the next message falls due (None: nothing pending)."""

    attempted: int
    delivered: int
    failed: int
    next_due: datetime | None


def worker_name() -> str:
    return f"{_PROCESS_TOKEN}:{os.getpid()}:{threading.get_ident()}"


def run_once(
    now: datetime | None = None,
    *,
    limit: int = BATCH_SIZE,
    kinds: list[str] | None = None,
    worker: str | None = None,
) -> Round:
    """Send every message due at `now` (default: the real clock) once, up to `limit`.
    Needs an app context."""
    now = now or utcnow()
    worker = worker or worker_name()
    senders = registry(current_app._get_current_object()).senders  # type: ignore[attr-defined]
    delivered = failed = 0
    claimed = store.claim_due(now, worker, limit, kinds=kinds)
    for message in claimed:
        sender = senders.get(message.kind)
        started = time.monotonic()
        if sender is None:
            result = SendResult(ok=False, error=f"no sender registered for {message.kind!r}")
        else:
            try:
                result = sender.send(message, now)
            except Exception as exc:  # a sender's bug must not stop the others
                log.exception("outbox sender %r failed on %s", message.kind, message.message_id)
                result = SendResult(ok=False, error=f"internal error: {type(exc).__name__}")
        db.session.rollback()  # whatever the sender read ends here
        duration_ms = int((time.monotonic() - started) * 1000)
        if result.ok:
            delivered += 1
        elif not result.hold:
            failed += 1
            log.info("outbox %s %s: %s", message.kind, message.message_id, result.describe())
        store.record(message, worker, result, now, duration_ms)
    return Round(len(claimed), delivered, failed, store.next_due(now, kinds))


def drain(
    app: Flask,
    max_rounds: int = 50,
    now: datetime | None = None,
    *,
    kinds: list[str] | None = None,
    until: datetime | None = None,
) -> list[Round]:
    """For tests and the CLI: run rounds until nothing is due (or `until` is passed).

    Between rounds the clock jumps to the next due time, so backoff waits take no time."""
    rounds: list[Round] = []
    clock = now or utcnow()
    with app.app_context():
        for _ in range(max_rounds):
            result = run_once(clock, kinds=kinds)
            rounds.append(result)
            if result.next_due is None:
                break
            if result.attempted < BATCH_SIZE:
                clock = max(clock, result.next_due)
            if until is not None and clock > until:
                break
    return rounds


def run_ticks(app: Flask, now: datetime) -> None:
    """Run the registered periodic jobs once (the worker does so about once a minute)."""
    for job in registry(app).ticks:
        try:
            job(now)
        except Exception:
            db.session.rollback()
            log.exception("outbox periodic job %r failed", getattr(job, "__name__", job))


class Worker:
    """This process's sending thread for one app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self.wakeup = threading.Event()
        self.stopped = False
        self.last_tick = float("-inf")
        self.thread = threading.Thread(target=self._run, name="outbox-worker", daemon=True)
        self.thread.start()

    def alive(self) -> bool:
        # After a fork the copied object exists but its thread does not.
        return self.pid == os.getpid() and self.thread.is_alive()

    def _run(self) -> None:
        wait = 0.0
        while True:
            self.wakeup.wait(wait)
            self.wakeup.clear()
            if self.stopped:
                return
            try:
                with self.app.app_context():
                    result = run_once()
                    if time.monotonic() - self.last_tick >= TICK_SECONDS:
                        self.last_tick = time.monotonic()
                        run_ticks(self.app, utcnow())
            except Exception:  # keep the thread alive: the next round may well work
                log.exception("outbox round failed")
                wait = IDLE_POLL_SECONDS
                continue
            wait = self._wait_after(result)

    def _wait_after(self, result: Round) -> float:
        if result.attempted >= BATCH_SIZE:
            return 0.0
        if result.next_due is None:
            return IDLE_POLL_SECONDS
        seconds = (result.next_due - utcnow()).total_seconds()
        return min(max(seconds, 0.05), IDLE_POLL_SECONDS)


def enabled(app: Flask) -> bool:
    configured = app.config.get("OUTBOX_WORKER")
    return (not app.testing) if configured is None else bool(configured)


def ensure_started(app: Flask | None = None) -> Worker | None:
    """This process's worker for `app`, started on first use; None when OUTBOX_WORKER is off
    (the default under TESTING, where tests call run_once()/drain() themselves)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not enabled(app):
        return None
    with _lock:
        worker = app.extensions.get(EXTENSION)
        if worker is None or not worker.alive():
            worker = Worker(app)
            app.extensions[EXTENSION] = worker
    return worker


def worker_for(app: Flask) -> Worker | None:
    """The running worker of this process for `app`, if any (tests, health checks)."""
    worker = app.extensions.get(EXTENSION)
    return worker if worker is not None and worker.alive() else None


def wake(app: Flask | None = None) -> bool:
    """Tell this process's worker, if it runs, that there is work (enqueue does so after
    the commit). Never starts one: a CLI command or gunicorn's master process must not
    grow a sending thread (and never one that a fork would copy)."""
    if app is None and not has_app_context():
        return False
    worker = worker_for(app or current_app._get_current_object())  # type: ignore[attr-defined]
    if worker is None:
        return False
    worker.wakeup.set()
    return True


def stop(app: Flask, timeout: float = 10.0) -> None:
    """Stop this process's worker for `app` (a send in progress finishes first)."""
    with _lock:
        worker = app.extensions.pop(EXTENSION, None)
    if worker is not None and worker.alive():
        worker.stopped = True
        worker.wakeup.set()
        worker.thread.join(timeout)
