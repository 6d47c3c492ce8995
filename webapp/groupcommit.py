"""Group commit: many request threads, one write transaction per batch. Pure threading.

Each item waits in a per-process queue; one writer thread per GroupCommit writes them. The
writer wakes when the queue is not empty and calls `write(take)`; `write` calls `take()` once
it holds the database's write lock, which empties the queue into the batch, so everything
that arrived while the writer waited for the lock rides along. Under load a batch grows
with the wait, and the fixed cost of a write (the write lock, a commit) is paid once per
batch instead of once per item.

A caller waits at most its `timeout`: then it gets `Busy`, never a result it cannot vouch
for. That bound holds whatever the writer is stuck on (a lock another process holds, a slow
disk), which is why the writing happens in a thread of its own rather than in whichever
request thread came first. The thread is created on first use in each process: a copy
inherited through fork() is never used (`pid`), so nothing crosses gunicorn's fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
Take = Callable[[], list[T]]
Write = Callable[[Take[T]], Sequence[R]]


class Busy(RuntimeError):
    """The item was not written within the caller's time limit (it may still be later)."""


class WriteFailed(RuntimeError):
    """The batch holding the item failed as a whole; nothing of it may be assumed written."""


@dataclass(eq=False)
class _Job(Generic[T, R]):
    item: T
    result: R | None = None
    error: BaseException | None = None
    # Each caller waits on its own event: one Condition shared by every caller would wake
    # them all at every submit and every batch (measured: a sixth of the receiver's CPU).
    done: threading.Event = field(default_factory=threading.Event)


class GroupCommit(Generic[T, R]):
    """One per process (and per app): see the module docstring."""

    def __init__(self, write: Write[T, R], name: str = "group-commit") -> None:
        self.pid = os.getpid()  # a copy inherited through fork() must not be used
        self._write = write
        self._name = name
        self._cond = threading.Condition()
        self._queue: list[_Job[T, R]] = []
        self._taken: list[_Job[T, R]] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self.batches = 0  # for tests and diagnostics
        self.largest_batch = 0

    @property
    def waiting(self) -> int:
        """Items queued or in the batch being written: not answered yet."""
        with self._cond:
            return len(self._queue) + len(self._taken)

    def submit(self, item: T, timeout: float) -> R:
        """Write item (with whatever else is queued) and return its result.

        Raises Busy after `timeout` seconds, and WriteFailed when the batch's write raised.
        """
        job: _Job[T, R] = _Job(item)
        with self._cond:
            if self._closed:
                raise Busy("shutting down")
            self._ensure_writer()
            self._queue.append(job)
            self._cond.notify()  # the writer is the only thread waiting on it
        if not job.done.wait(timeout):
            with self._cond:
                if job in self._queue:  # not taken yet: it will never be written
                    self._queue.remove(job)
                    raise Busy(f"not written within {timeout:g} s")
            if not job.done.is_set():
                raise Busy(f"not known to be written within {timeout:g} s")
        if job.error is not None:
            raise WriteFailed(str(job.error) or type(job.error).__name__) from job.error
        return job.result  # type: ignore[return-value]

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer thread (a graceful shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _ensure_writer(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
            self._write_batch()

    def _write_batch(self) -> None:
        def take() -> list[T]:
            with self._cond:
                if not self._taken:
                    self._taken, self._queue = self._queue, []
                return [job.item for job in self._taken]

        results: Sequence[R] = ()
        error: BaseException | None = None
        try:
            results = self._write(take)
        except BaseException as exc:  # every waiting thread must learn the outcome
            error = exc
        take()  # a write that failed before taking still answers the queued items
        batch = self._taken
        if error is None and len(results) != len(batch):
            error = RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
        for index, job in enumerate(batch):
            if error is None:
                job.result = results[index]
            else:
                job.error = error
            job.done.set()
        with self._cond:
            if batch:
                self.batches += 1
                self.largest_batch = max(self.largest_batch, len(batch))
            self._taken = []
