"""Finding Debian's Chromium for the browser tests, and what to do when it is missing.

Pure enough to unit-test (tests/browser/test_discovery.py): the candidates, the PATH lookup
and the environment are arguments. Playwright never downloads a browser here; it drives the
system's `chromium` through `executable_path`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

CANDIDATES = ("/usr/bin/chromium",)
INSTALL_HINT = (
    "Chromium is not installed, so the browser tests cannot run. "
    "`sudo apt-get install chromium` installs it (Debian/Ubuntu); the tests drive that "
    "system browser and never download one."
)
# Headless, and nothing that phones home or waits on first-run dialogs.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def find_chromium(
    candidates: Iterable[str | Path] = CANDIDATES,
    which: Callable[[str], str | None] = shutil.which,
) -> str | None:
    """The first executable candidate, else `chromium` on PATH, else None."""
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return which("chromium")


def running_in_ci(environ: Mapping[str, str]) -> bool:
    return environ.get("CI", "").strip().lower() == "true"


def require_chromium(path: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The browser's path; without one, skip locally but fail in CI (CI=true).

    CI must never go green because the browser it was meant to use is missing.
    """
    if path:
        return path
    if running_in_ci(environ):
        pytest.fail(f"CI=true: {INSTALL_HINT}", pytrace=False)
    pytest.skip(INSTALL_HINT)
