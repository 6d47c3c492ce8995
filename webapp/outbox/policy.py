"""How long to wait after each failed attempt, and when to give up. Pure: no Flask, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """`waits[n-1]` is the wait after the n-th failure in a row. Past the end the last wait
    repeats (`repeat_last`) or the message is given up. With a `window`, a failure that
    happens that long after the message was created gives it up whatever the count."""

    waits: tuple[timedelta, ...]
    repeat_last: bool = False
    window: timedelta | None = None

    def wait_after(self, failures: int, age: timedelta) -> timedelta | None:
        """The wait before the next attempt, or None: give up."""
        if self.window is not None and age >= self.window:
            return None
        if 1 <= failures <= len(self.waits):
            return self.waits[failures - 1]
        if failures > len(self.waits) and self.repeat_last and self.waits:
            return self.waits[-1]
        return None

    @property
    def span(self) -> timedelta:
        """From the first attempt to the last one (when the waits do not repeat)."""
        return sum(self.waits, timedelta())


# About a day (27.6 h) of exponential backoff: 9 attempts, then give up.
DEFAULT_POLICY = RetryPolicy(
    waits=(
        timedelta(seconds=5),
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=10),
    )
)
