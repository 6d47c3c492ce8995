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
"""

from __future__ import annotations

from collections.abc import Iterable

DEFAULT_GRACE = 5.0


class FeedCursor:
    """Low-water mark plus the emitted ids above it. Times are any monotonic seconds."""

    def __init__(self, low: int = 0, grace: float = DEFAULT_GRACE) -> None:
        self.low = max(0, int(low))
        self.grace = grace
        self._emitted: dict[int, float] = {}

    @property
    def emitted(self) -> frozenset[int]:
        """Ids above `low` that have been emitted (for tests and diagnostics)."""
        return frozenset(self._emitted)

    def observe(self, handled_ids: Iterable[int], now: float) -> list[int]:
        """Record handled delivery ids seen by a poll; return those not emitted before.

        Ids at or below `low` are ignored: they were handled (or given up on) already.
        The result keeps the order of the input and has no duplicates.
        """
        fresh: list[int] = []
        for delivery_id in handled_ids:
            if delivery_id > self.low and delivery_id not in self._emitted:
                self._emitted[delivery_id] = now
                fresh.append(delivery_id)
        return fresh

    def advance(self, now: float) -> int:
        """Move `low` over handled ids and over holes older than the grace period.

        A hole below the smallest emitted id h has been open at least since h was first
        seen (had it been handled then, it would have been emitted too), so h's age is
        the hole's age.
        """
        while self._emitted:
            following = self.low + 1
            if following in self._emitted:
                del self._emitted[following]
                self.low = following
                continue
            smallest = min(self._emitted)
            if now - self._emitted[smallest] > self.grace:
                self.low = smallest - 1  # give up on the hole; the next turn takes `smallest`
                continue
            break
        return self.low
