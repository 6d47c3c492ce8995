"""A doorbell between processes: tell a process that waits for work that there is some.

One datagram on a Linux abstract unix socket (a name, not a file: nothing to clean up after
a `kill -9`). Ringing costs one system call and never waits for an answer; the bell says only
"look now", the work itself is in the database, so a lost ring costs a delay, never data.
`ring()` returns False when no process listens (none started, it died, another system than
Linux): the caller then does the work itself. The receiver uses it to wake the applier
process (webapp/webhooks/applier.py, docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading

_sockets: dict[int, socket.socket] = {}  # pid -> this process's sending socket
_guard = threading.Lock()


def address(key: str) -> str:
    """The bell's name for `key` (e.g. a database URL): the same key, the same bell."""
    return "\0webapp-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "AF_UNIX")


def ring(name: str) -> bool:
    """Ring the bell; False when no process listens on it."""
    if not supported():
        return False
    try:
        _sender().sendto(b"!", name)
    except BlockingIOError:  # rung many times already and not read yet: it is listening
        return True
    except OSError:  # ECONNREFUSED / ENOENT: nobody listens
        return False
    return True


def listen(name: str) -> socket.socket:
    """A socket bound to the bell, to wait on (recv) for rings. Raises OSError (EADDRINUSE)
    when another process listens on it already."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        listener.bind(name)
    except OSError:
        listener.close()
        raise
    return listener


def _sender() -> socket.socket:
    pid = os.getpid()
    found = _sockets.get(pid)  # never a socket from before a fork
    if found is None:
        with _guard:
            found = _sockets.get(pid)
            if found is None:
                found = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                found.setblocking(False)
                _sockets.clear()
                _sockets[pid] = found
    return found
