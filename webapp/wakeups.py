"""An in-process "something changed" signal, for threads that would otherwise sleep and poll.

The receiver's applier calls `notify()` after each batch it commits; the live streams of the
same process wait on it instead of sleeping a whole poll interval, so a change reaches them
at once. A waiter keeps the generation it last saw, so a notification that came while it was
busy is not lost: its next wait returns at once. Waiting still ends after the caller's
timeout, so polling stays the fallback; while any stream is open (`listeners`), the applier
also looks for changes other processes applied and notifies about those too.

One signal per process: a copy inherited through fork() is never used (its lock may have
been held by a thread that does not exist in the child), so nothing crosses gunicorn's fork.
"""

from __future__ import annotations

import os
import threading
import time
import weakref


class ChangeSignal:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self._cond = threading.Condition()
        self._generation = 0
        self._listeners = 0

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def listeners(self) -> int:
        """How many Waiters exist in this process (open live streams)."""
        return self._listeners

    def _count(self, change: int) -> None:
        with self._cond:
            self._listeners += change

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the generation is past `seen` or `timeout` passed; the generation."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._generation == seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._generation


class Waiter:
    """A `sleep(seconds)` that returns early once something changed since its last return,
    but never sooner than a gap after it: `min_gap`, plus `gap_per_waiter` for every other
    Waiter in this process, up to `seconds`. A lone stream hears of a change at once; a
    hundred busy ones poll no more often than they would without wake-ups, and together. It
    counts as a listener (ChangeSignal.listeners) for as long as it exists."""

    def __init__(
        self,
        min_gap: float = 0.0,
        gap_per_waiter: float = 0.0,
        signal: ChangeSignal | None = None,
    ) -> None:
        self._signal = signal or changes()
        self._seen = self._signal.generation
        self._min_gap = min_gap
        self._gap_per_waiter = gap_per_waiter
        self._last = time.monotonic()
        self._signal._count(1)
        weakref.finalize(self, self._signal._count, -1)

    def __call__(self, seconds: float) -> None:
        others = max(0, self._signal.listeners - 1)
        wanted = self._min_gap + self._gap_per_waiter * others
        if wanted >= seconds > 0:
            # So busy that it only polls every `seconds`: on a beat the whole process keeps
            # (the multiples of `seconds` on the monotonic clock), so that the streams poll
            # at the same moments and one query answers them all (webapp/live/fanout.py).
            time.sleep(seconds - time.monotonic() % seconds)
            self._seen = self._signal.generation
            self._last = time.monotonic()
            return
        gap = min(wanted, seconds) - (time.monotonic() - self._last)
        if gap > 0:
            time.sleep(gap)
            seconds -= gap
        if seconds > 0:
            self._seen = self._signal.wait(self._seen, seconds)
        else:
            self._seen = self._signal.generation
        self._last = time.monotonic()


_signal: ChangeSignal | None = None
_guard = threading.Lock()


def changes() -> ChangeSignal:
    """This process's signal."""
    global _signal
    signal = _signal
    if signal is None or signal.pid != os.getpid():
        with _guard:
            if _signal is None or _signal.pid != os.getpid():
                _signal = ChangeSignal()
            signal = _signal
    return signal


def notify() -> None:
    """Tell this process's waiting threads that something changed."""
    changes().notify()
