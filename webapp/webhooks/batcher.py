"""Group commit: many request threads, one write transaction per batch. Pure threading.

Each item waits in a per-process queue. The first thread that finds no writer at work
becomes the writer (the "leader") and calls `write(take)`. The writer calls `take()` once
it holds the database's write lock: that empties the queue into the batch, so everything
that arrived while the leader waited for the lock rides along. The leader hands every
waiting thread its own result and returns its own. Threads arriving after `take()` queue
for the next batch. Under load a batch grows with the wait, and the fixed cost of a write
(the write lock, a commit) is paid once per batch instead of once per item. With one
thread (the test client) every batch is that thread's own item.

There is no background thread on purpose: nothing to start, stop, or re-create after
gunicorn forks, and the same code path runs under gunicorn and in tests. A thread that
waits longer than its timeout gets `Busy`, never a result it cannot vouch for.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
Take = Callable[[], list[T]]


class Busy(RuntimeError):
    """The item was not written within the caller's time limit (it may still be later)."""


class WriteFailed(RuntimeError):
    """The batch holding the item failed as a whole; nothing of it may be assumed written."""


@dataclass(eq=False)
class _Job(Generic[T, R]):
    item: T
    result: R | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommit(Generic[T, R]):
    """One per process (and per app): see the module docstring."""

    def __init__(self) -> None:
        self.pid = os.getpid()  # a copy inherited through fork() must not be used
        self._cond = threading.Condition()
        self._queue: list[_Job[T, R]] = []
        self._writing = False
        self._taken = 0
        self.batches = 0  # for tests and diagnostics
        self.largest_batch = 0

    @property
    def waiting(self) -> int:
        """Items queued or in the batch being written: not answered yet."""
        with self._cond:
            return len(self._queue) + self._taken

    def submit(self, item: T, write: Callable[[Take[T]], Sequence[R]], timeout: float) -> R:
        """Write item (with whatever else is queued) and return its result.

        `write(take)` runs in the calling thread when this thread leads a batch; it calls
        `take()` (once or more: later calls give the same list) for the batch's items and
        returns one result per item, in order. Raises Busy after `timeout` seconds of
        waiting, and WriteFailed when the batch's write raised.
        """
        job: _Job[T, R] = _Job(item)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(job)
            while self._writing and not job.done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if job in self._queue:  # not taken yet: it will never be written
                        self._queue.remove(job)
                    raise Busy(f"not written within {timeout:g} s")
                self._cond.wait(remaining)
            if not job.done:
                self._writing = True
        if not job.done:
            self._lead(write)
        if job.error is not None:
            raise WriteFailed(str(job.error) or type(job.error).__name__) from job.error
        return job.result  # type: ignore[return-value]

    def _lead(self, write: Callable[[Take[T]], Sequence[R]]) -> None:
        batch: list[_Job[T, R]] | None = None

        def take() -> list[T]:
            nonlocal batch
            if batch is None:
                with self._cond:
                    batch, self._queue = self._queue, []
                    self._taken = len(batch)
            return [job.item for job in batch]

        results: Sequence[R] = ()
        error: BaseException | None = None
        try:
            results = write(take)
        except BaseException as exc:  # every waiting thread must learn the outcome
            error = exc
        take()  # a write that failed before taking still answers the queued items
        assert batch is not None
        if error is None and len(results) != len(batch):
            error = RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        with self._cond:
            for index, job in enumerate(batch):
                if error is None:
                    job.result = results[index]
                else:
                    job.error = error
                job.done = True
            self.batches += 1
            self.largest_batch = max(self.largest_batch, len(batch))
            self._writing = False
            self._taken = 0
            self._cond.notify_all()
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            raise error
