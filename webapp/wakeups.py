"""An in-process "something changed" signal, for threads that would otherwise sleep and poll.

The receiver's applier calls `notify()` after each batch it commits; the live streams of the
same process wait on it instead of sleeping a whole poll interval, so a change reaches them
at once. A waiter keeps the generation it last saw, so a notification that came while it was
busy is not lost: its next wait returns at once. Waiting still ends after the caller's
timeout, so polling stays the fallback for changes made by other processes.

One signal per process: a copy inherited through fork() is never used (its lock may have
been held by a thread that does not exist in the child), so nothing crosses gunicorn's fork.
"""

from __future__ import annotations

import os
import threading
import time


class ChangeSignal:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self._cond = threading.Condition()
        self._generation = 0
        self._waiting = 0

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def listening(self) -> bool:
        """Whether any thread is waiting for a change right now."""
        return self._waiting > 0

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the generation is past `seen` or `timeout` passed; the generation."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting += 1
            try:
                while self._generation == seen:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                return self._generation
            finally:
                self._waiting -= 1


class Waiter:
    """A `sleep(seconds)` that returns early once something changed since its last return,
    but never sooner than `min_gap` seconds after it: a busy stream does not poll more often
    than that, however many batches are committed."""

    def __init__(self, min_gap: float = 0.0, signal: ChangeSignal | None = None) -> None:
        self._signal = signal or changes()
        self._seen = self._signal.generation
        self._min_gap = min_gap
        self._last = time.monotonic()

    def __call__(self, seconds: float) -> None:
        now = time.monotonic()
        gap = self._min_gap - (now - self._last)
        if gap > 0:
            time.sleep(min(gap, seconds))
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
