"""Taking turns at SQLite's write lock between gunicorn workers, through OS file locks.

SQLite's own busy handler polls, sleeping 1, 2, 5, 10 ... 100 ms between tries, so a worker
waiting for the write lock keeps sleeping after it has been released; under load those
sleeps, not the work, set the receiver's pace (and its p99). A worker waiting on flock() is
woken by the kernel the moment the holder lets go. Only the receiver's batches (storing
deliveries, applying them) take turns this way; other writers (sign-in, visits) still meet
them in SQLite's busy handler, so this is an optimisation, never what keeps the data
consistent (BEGIN IMMEDIATE does that). The appliers also take turns among themselves
(appliers_in_turn), held around the writers' turn, never inside it. The turn is held
through COMMIT: released before it, the next worker's BEGIN IMMEDIATE would find the lock
still taken and sleep in the busy handler after all. PostgreSQL needs none of this.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: writers wait in SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

_files: dict[str, tuple[int, int, threading.Lock]] = {}  # lock file -> (pid, fd, lock)
_files_guard = threading.Lock()


@contextmanager
def writers_in_turn(url: URL) -> Iterator[None]:
    """Wait for this database's turn (SQLite files only) and hold it for the block."""
    with _turn(url, "-receiver.lock"):
        yield


@contextmanager
def appliers_in_turn(url: URL) -> Iterator[None]:
    """One applier at a time per SQLite database (each claims everyone's pending
    deliveries, so a second one at the same moment would only find fewer); a no-op on
    PostgreSQL, where appliers claim disjoint deliveries at once."""
    with _turn(url, "-applier.lock"):
        yield


@contextmanager
def _turn(url: URL, suffix: str) -> Iterator[None]:
    path = _lock_file(url, suffix)
    if path is None:
        yield
        return
    fd, lock = _open(path)
    with lock:  # flock() does not exclude threads that share one open file
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _lock_file(url: URL, suffix: str) -> str | None:
    if fcntl is None or url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return os.path.abspath(database) + suffix


def _open(path: str) -> tuple[int, threading.Lock]:
    with _files_guard:
        entry = _files.get(path)
        if entry is None or entry[0] != os.getpid():  # never a descriptor from before fork
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            entry = _files[path] = (os.getpid(), fd, threading.Lock())
        return entry[1], entry[2]
