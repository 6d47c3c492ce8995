"""Rendered rows and feed look-ups shared by the live streams of one process.

Every open dashboard holds a stream, and each stream used to load and render every changed
row on its own: with 50 dashboards open on 4 workers the same row was read and rendered
about 12 times per worker per change, which took most of the server's CPU under a delivery
load (tests/reliability/test_live_streams.py: 5,000 deliveries with 50 streams open were
received at about 60/s on SQLite, against 160/s with no stream open). Now a row is loaded
and rendered once per (request, newest delivery) per process, and shared.

The key is the request and the newest delivery the stream is reporting for it: the row is
read after that delivery was applied, so it shows that change or a later one, and the next
change has a new key. And the viewer's time zone: a row shows its times in it
(webapp/localtime.py), so streams share rows with the viewers of the same zone. The
cache lives on the app, not the module: tests build many apps in one process, and a
database emptied between them hands out the same ids again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from flask import current_app

from webapp.live.rows import load_rows, render_row
from webapp.localtime import viewer_zone_name

T = TypeVar("T")

CACHE_SIZE = 4096  # rows; a few seconds of changes under load, a few MB of HTML
# How long one stream's look at the feed answers the others asking the same: well under a
# poll interval, so a stream's next poll never gets the answer its last one had.
SHARE_SECONDS = 0.05
WAIT_SECONDS = 10.0  # for another stream's look; past it, a stream looks for itself


@dataclass(frozen=True)
class SharedRow:
    id: int
    scheduling_request_id: str
    html: str
    order: tuple[datetime, int]  # (updated_at, id): the order the stream sends rows in


class RowCache:
    """A small thread-safe LRU of rendered rows."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._rows: OrderedDict[tuple[int, int, str], SharedRow] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, str]) -> SharedRow | None:
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def put(self, key: tuple[int, int, str], row: SharedRow) -> None:
        with self._lock:
            self._rows[key] = row
            self._rows.move_to_end(key)
            while len(self._rows) > self._size:
                self._rows.popitem(last=False)


class _Flight:
    """One look-up: the first stream to ask runs it, the others wait for its answer."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = threading.Event()
        self.failed = False
        self.result: Any = None


class SharedReads:
    """Streams asking the same question at about the same moment get one answer.

    Every stream of a process polls the feed with the same question once they have caught
    up (the deliveries above one cursor), and busy streams poll on a common beat
    (webapp/wakeups.py): with 50 dashboards open on 4 workers, the ~200 polls a second were
    ~200 queries, most of them the same; shared, the streams' statements fell about 7-fold
    (tests/reliability/test_live_streams.py on PostgreSQL). A question is run once and its
    answer shared for `lifetime` seconds. The key must name everything the answer depends
    on, the process's change generation included, so that nobody gets an answer from
    before a change they were told about. If the run fails, each waiting stream runs the
    question itself, as does one that waited WAIT_SECONDS in vain.
    """

    def __init__(
        self, lifetime: float = SHARE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, run: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            flight = self._flights.get(key)
            mine = flight is None or flight.failed or now - flight.started > self._lifetime
            if mine:
                self._forget_old(now)
                flight = self._flights[key] = _Flight(now)
        assert flight is not None
        if not mine:
            if flight.done.wait(WAIT_SECONDS) and not flight.failed:
                return flight.result  # type: ignore[no-any-return]
            return run()
        try:
            flight.result = run()
        except BaseException:
            flight.failed = True
            raise
        finally:
            flight.done.set()
        return flight.result  # type: ignore[no-any-return]

    def _forget_old(self, now: float) -> None:
        old = [
            key for key, flight in self._flights.items() if now - flight.started > self._lifetime
        ]
        for key in old:
            del self._flights[key]


def shared_reads() -> SharedReads:
    reads = current_app.extensions.get("live_shared_reads")
    if reads is None:
        reads = current_app.extensions.setdefault("live_shared_reads", SharedReads())
    return reads


def _cache() -> RowCache:
    cache = current_app.extensions.get("live_row_cache")
    if cache is None:
        cache = current_app.extensions.setdefault("live_row_cache", RowCache())
    return cache


def shared_rows(newest_delivery: dict[int, int]) -> list[SharedRow]:
    """The rows for {request pk: newest delivery id}, oldest activity first."""
    cache = _cache()
    zone = viewer_zone_name()
    found: dict[int, SharedRow] = {}
    missing = []
    for request_id, delivery_id in newest_delivery.items():
        row = cache.get((request_id, delivery_id, zone))
        if row is None:
            missing.append(request_id)
        else:
            found[request_id] = row
    for loaded in load_rows(missing):
        row = SharedRow(
            id=loaded.id,
            scheduling_request_id=loaded.scheduling_request_id,
            html=render_row(loaded),
            order=(loaded.updated_at, loaded.id),
        )
        cache.put((loaded.id, newest_delivery[loaded.id], zone), row)
        found[loaded.id] = row
    return sorted(found.values(), key=lambda row: row.order)
