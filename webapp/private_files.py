"""Owner-only files and folders: instance/ (0700) and what the app writes there (0600).

Modes are set explicitly (fchmod/chmod), never left to the process umask.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def make_private_folder(path: Path) -> None:
    """Create the folder owner-only (0700), and take group and other access off one we own.

    It holds the secret key, the sandbox credentials and the SQLite database. The mode is
    set explicitly after mkdir, so the process umask has no say in it.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


def create_private_file(path: Path) -> bool:
    """Create an empty, owner-only (0600) file unless one exists; True if it was created.

    SQLite creates a missing database file with the umask's mode (often 0644) on first
    connect; made here first, it stays 0600, and SQLite gives its -wal and -shm files the
    database file's mode.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits off the mode passed to open
    finally:
        os.close(fd)
    return True


def write_private(path: Path, text: str) -> None:
    """Create path (mode 600) atomically; FileExistsError if another process won the race.

    Written to a temporary file first and hard-linked into place, so that a concurrent
    reader (several gunicorn workers start at once) never sees a half-written file.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
