"""Recording visits of tracked links off the redirect's critical path (write-behind).

A click must not wait for the database's write lock: under several gunicorn workers on
SQLite, one INSERT per click in its own BEGIN IMMEDIATE made clicks queue behind each other
(busy-handler sleeps of 1, 2, 5, 10 ... ms ruled the p99). So each process buffers its
visits in memory and a daemon thread writes them every `VISIT_FLUSH_INTERVAL` seconds
(default 0.1), one executemany INSERT per batch in one write transaction.

The trade-off, on purpose: a process that dies without a graceful stop (kill -9, power
loss) loses the visits of its last interval at most. Nothing else is at risk: the claim
token and the redirect never depend on the Visit row, and the Visit row is a statistic
(click counts, the visit list). A graceful stop flushes: gunicorn's `worker_exit` hook
and `atexit` both call `flush_all()`.

`VISIT_FLUSH_INTERVAL = 0` writes each visit inside its request instead (one INSERT, one
transaction), which is the default under `TESTING` so that tests see the row right after
the response.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from datetime import datetime
from typing import NamedTuple

from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from webapp import outbox
from webapp.clicks import count_person_clicks
from webapp.database import commit_open_session, session_on, write_connection
from webapp.extensions import db
from webapp.models import Visit
from webapp.outbound.events import LINK_CLICKED, anyone_subscribes, emit_tracked_link_clicks
from webapp.tracking.agents import HUMAN

log = logging.getLogger(__name__)

DEFAULT_FLUSH_INTERVAL = 0.1  # seconds
# Visits held while the database cannot take them (e.g. it is down); beyond this the oldest
# are dropped (and counted in the log) rather than letting memory grow without bound.
MAX_PENDING = 100_000
_EXTENSION_KEY = "webapp.tracking.visits"
# Core, not the ORM's bulk path: the rows need no identity map, and a batch costs half.
_INSERT = insert(Visit.__table__)


# Visit outcomes.
REDIRECT = "redirect"  # token minted, sent to the booking page
BOOKED = "booked"  # sent to the existing booking's view_url, no token
REFUSED = "refused"  # link disabled / expired / Public Link inactive (410)
PREVIEW = "preview"  # HEAD, bot or link preview: a small page, no token
UNAVAILABLE = "unavailable"  # no Embed credentials configured (503)
NOT_FOUND = "not_found"  # unknown slug; nothing recorded


class PendingVisit(NamedTuple):
    tracked_link_id: int
    at: datetime
    jti: str | None
    agent_class: str
    outcome: str


class VisitRecorder:
    """Per-app, per-process visit writer: synchronous (interval 0) or buffered."""

    def __init__(self, app: Flask, interval: float) -> None:
        self.app = app
        self.interval = max(0.0, float(interval))
        self._reset()

    def _reset(self) -> None:
        """Fresh state: at construction, and in a forked child (the parent keeps its own)."""
        self._pending: deque[PendingVisit] = deque(maxlen=MAX_PENDING)
        self._dropped = 0
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._closed = False
        self._failing = False

    @property
    def buffered(self) -> bool:
        return self.interval > 0 and not self._closed

    def record(self, visit: PendingVisit) -> None:
        """Write the visit now (unbuffered) or queue it for this process's flusher."""
        if not self.buffered:
            commit_open_session()  # what the caller wrote first is committed first
            _write(self.app, [visit])
            return
        if self._pid != os.getpid():
            self._start()
        if len(self._pending) >= MAX_PENDING:
            self._dropped += 1
        self._pending.append(visit)  # deque.append is atomic: no lock on the request path

    def pending(self) -> int:
        return len(self._pending)

    def thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def flush(self) -> int:
        """Write every visit queued so far, in one transaction; returns how many were written.

        On a database error the batch goes back to the front of the queue for the next
        flush; a batch refused for integrity (its tracked link deleted meanwhile) is
        retried row by row and only the refused rows are dropped.
        """
        with self._flush_lock:
            batch = [self._pending.popleft() for _ in range(len(self._pending))]
            if self._dropped:
                log.warning("visit buffer full: %d visit(s) were not recorded", self._dropped)
                self._dropped = 0
            if not batch:
                return 0
            with self.app.app_context():
                try:
                    _write(self.app, batch)
                except IntegrityError:
                    return self._write_one_by_one(batch)
                except Exception:
                    self._failed(batch)
                    return 0
            if self._failing:
                log.warning("visits are being recorded again")
                self._failing = False
            return len(batch)

    def close(self) -> None:
        """Stop the flusher and write what is queued; later visits are written at once."""
        self._closed = True
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        while self._pending and self.flush():
            pass  # a request that raced the stop may have queued one more
        _live.discard(self)

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, name="visit-flusher", args=(self._stop,), daemon=True
            )
            self._thread.start()
            self._pid = os.getpid()
            _live.add(self)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # the flusher must outlive any one bad flush
                log.exception("visit flush failed")

    def _write_one_by_one(self, batch: list[PendingVisit]) -> int:
        written = 0
        for index, visit in enumerate(batch):
            try:
                _write(self.app, [visit])
            except IntegrityError:
                log.warning("visit for tracked link %s refused", visit.tracked_link_id)
            except Exception:
                self._failed(batch[index:])
                break
            else:
                written += 1
        return written

    def _failed(self, batch: list[PendingVisit]) -> None:
        """Keep the batch for the next flush; log the first failure of a streak only."""
        self._pending.extendleft(reversed(batch))
        if not self._failing:
            log.exception("could not record %d visit(s); retrying every flush", len(batch))
            self._failing = True


def _write(app: Flask, visits: list[PendingVisit]) -> None:
    """One INSERT (executemany for several rows) in one write transaction, with the
    links' person-click counters (webapp/clicks.py) and the `tracked_link.clicked` messages
    for people's redirects (outbound webhooks) in the same transaction: a click is counted
    and announced if and only if it was recorded.

    On a Core connection, not the ORM session: the flusher runs several times a second in
    every worker, beside the redirects, and the session's machinery was most of its own
    cost. The outbox is reached through a session joined to the connection, and only when
    an endpoint subscribes to clicks (they are opt-in)."""
    clicks = [
        (visit.tracked_link_id, visit.at)
        for visit in visits
        if visit.agent_class == HUMAN and visit.outcome == REDIRECT
    ]
    queued = 0
    with write_connection(db.engine) as connection:
        connection.execute(_INSERT, [visit._asdict() for visit in visits])
        count_person_clicks(connection, visits)
        if clicks and anyone_subscribes(connection, [LINK_CLICKED]):
            with session_on(app, connection):
                queued = emit_tracked_link_clicks(clicks)
    if queued:
        outbox.wake(app)  # committed: this process's outbox sends them now


def recorder_for(app: Flask) -> VisitRecorder:
    """The app's recorder, made on first use (create_app stays free of side effects)."""
    try:
        return app.extensions[_EXTENSION_KEY]
    except KeyError:
        default = 0.0 if app.testing else DEFAULT_FLUSH_INTERVAL
        interval = app.config.get("VISIT_FLUSH_INTERVAL", default)
        # setdefault: if two first requests race, both use the same recorder.
        return app.extensions.setdefault(_EXTENSION_KEY, VisitRecorder(app, interval))


# Recorders with a running flusher in this process (strong references: a worker's app must
# stay reachable until its last flush at exit).
_live: set[VisitRecorder] = set()


def flush_all() -> None:
    """Stop every flusher of this process and write what they hold (graceful stop)."""
    for recorder in list(_live):
        try:
            recorder.close()
        except Exception:  # one app's failure must not keep the others from flushing
            log.exception("could not flush visits at exit")


def _after_fork_in_child() -> None:
    # The parent's queued visits are the parent's to write; the child starts empty, with
    # fresh locks (a lock held by another thread at fork time would never be released).
    for recorder in list(_live):
        recorder._reset()
    _live.clear()


atexit.register(flush_all)
os.register_at_fork(after_in_child=_after_fork_in_child)
