"""The live feed's cursor over Delivery ids: pure logic, no Flask, no database.

Delivery ids are handed out when a delivery is inserted, but deliveries become visible
(committed) and become processed in no particular order: two gunicorn workers, or
PostgreSQL sequences, can make id 41 visible after id 42. "Emit everything above the
highest id seen" would then lose 41 for good. Instead the cursor keeps:

- `low`, a low-water mark: every delivery with an id <= low has been handled;
- the ids above `low` already emitted, each with the time it was first seen.

`low` only moves over a contiguous run of handled ids. A hole (an id not yet committed,
still pending, or never to exist: a rolled-back insert, a sequence value burnt by a
conflicting insert) stops it, until a handled id above the hole has been waiting for longer
than `grace` seconds; then the hole is given up on, so that one lost id cannot pin the
cursor for ever. `low` is what the stream sends as the SSE event id, so a reconnect resumes
from a point before which nothing was missed; rows above it may be sent twice, which the
browser absorbs (it upserts rows by Scheduling Request).

A hole given up on may still be a stored delivery that is applied later (a transient
database error leaves it pending until a sweep, a restart or an admin applies it), and that
change must still reach the open stream. So the ids given up on are reported
(`given_up`), and the stream `watch`es those that exist: a watched id, though below `low`,
is emitted once when a poll finds it handled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

DEFAULT_GRACE = 5.0
MAX_WATCHED = 1000  # bounds memory and the size of the stream's look-up of watched ids
# Beyond this many holes the stream asks for everything above `low` instead of naming them.
MAX_NAMED_HOLES = 1000


class Unseen(NamedTuple):
    """Where a poll finds the ids not emitted yet: every id above `above`, and `holes`
    (the ids between `low` and `above` not emitted)."""

    above: int
    holes: tuple[int, ...]


class FeedCursor:
    """Low-water mark plus the emitted ids above it. Times are any monotonic seconds."""

    def __init__(self, low: int = 0, grace: float = DEFAULT_GRACE) -> None:
        self.low = max(0, int(low))
        self.grace = grace
        self._emitted: dict[int, float] = {}
        # Ids below `low` to emit once handled; a dict keeps insertion order for trimming.
        self._watched: dict[int, None] = {}
        self.given_up: list[int] = []  # the ids the last advance() gave up on

    @property
    def emitted(self) -> frozenset[int]:
        """Ids above `low` that have been emitted (for tests and diagnostics)."""
        return frozenset(self._emitted)

    def observe(self, handled_ids: Iterable[int], now: float) -> list[int]:
        """Record handled delivery ids seen by a poll; return those not emitted before.

        Ids at or below `low` are ignored: they were handled (or given up on) already,
        unless they are watched.
        The result keeps the order of the input and has no duplicates.
        """
        fresh: list[int] = []
        for delivery_id in handled_ids:
            if delivery_id in self._watched:
                del self._watched[delivery_id]
                fresh.append(delivery_id)
            elif delivery_id > self.low and delivery_id not in self._emitted:
                self._emitted[delivery_id] = now
                fresh.append(delivery_id)
        return fresh

    def unseen(self) -> Unseen:
        """What the next poll should ask for: not the ids emitted already.

        PostgreSQL leaves holes in the id sequence for good (an insert that meets a
        duplicate key still takes its number), so behind a hole the emitted ids pile up
        for `grace` seconds; asking for "everything above `low`" then re-read them on every
        poll of every stream (with 50 streams open and a fifth of deliveries duplicates,
        ~120 rows a poll where ~10 were new).
        """
        if not self._emitted:
            return Unseen(self.low, ())
        highest = max(self._emitted)
        if highest - self.low - len(self._emitted) > MAX_NAMED_HOLES:
            return Unseen(self.low, ())  # slower, never wrong
        holes = tuple(i for i in range(self.low + 1, highest) if i not in self._emitted)
        return Unseen(highest, holes)

    def advance(self, now: float) -> int:
        """Move `low` over handled ids and over holes older than the grace period.

        A hole below the smallest emitted id h has been open at least since h was first
        seen (had it been handled then, it would have been emitted too), so h's age is
        the hole's age. The ids given up on are left in `given_up` until the next call.
        """
        self.given_up = []
        while self._emitted:
            following = self.low + 1
            if following in self._emitted:
                del self._emitted[following]
                self.low = following
                continue
            smallest = min(self._emitted)
            if now - self._emitted[smallest] > self.grace:
                # Give up on the hole; the next turn takes `smallest`. Only the newest ids
                # of a huge hole are kept (e.g. a sequence that jumped): they are the likely
                # late ones.
                first = max(self.low + 1, smallest - MAX_WATCHED)
                self.given_up.extend(range(first, smallest))
                self.low = smallest - 1
                continue
            break
        return self.low

    @property
    def watched(self) -> frozenset[int]:
        return frozenset(self._watched)

    def watch(self, ids: Iterable[int]) -> None:
        """Emit these ids (at or below `low`) once a poll finds them handled; the oldest
        are forgotten beyond MAX_WATCHED."""
        for delivery_id in ids:
            if delivery_id <= self.low:
                self._watched[delivery_id] = None
        while len(self._watched) > MAX_WATCHED:
            del self._watched[next(iter(self._watched))]
