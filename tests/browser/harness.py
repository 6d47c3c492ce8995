"""Helpers for the browser tests that are not fixtures: the newcomer's server environment,
the secrets it generates, and screenshots of failing pages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.server import ROOT, Server, server_env

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEFAULT_TIMEOUT_MS = 10_000


def sandbox_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """What a newcomer runs: sandbox on, no Cronofy credentials (the app generates sandbox
    ones in its instance folder), a fresh SQLite file."""
    return server_env(
        tmp_path,
        WEBAPP_SANDBOX="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'browser.sqlite3'}",
        CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY=None,
        CRONOFY_SCHEDULER_EMBED_SECRET=None,
        CRONOFY_CLIENT_SECRET=None,
        **overrides,
    )


def generated_secrets(server: Server) -> dict[str, str]:
    """The sandbox credentials the app generated in its instance folder: the secrets, which
    must never reach a browser or the log (the public key may)."""
    path = Path(server.env["WEBAPP_INSTANCE_PATH"]) / "sandbox_credentials.json"
    credentials = json.loads(path.read_text())
    return {
        name: credentials[name]
        for name in ("CRONOFY_SCHEDULER_EMBED_SECRET", "CRONOFY_CLIENT_SECRET")
    }


@contextmanager
def screenshots_on_error(browser: Any, name: str) -> Iterator[Any]:
    """A context for module-level preparation, with screenshots if the preparation fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context
    except BaseException:
        save_screenshots(name, context.pages)
        raise
    finally:
        context.close()


def save_screenshots(test_name: str, pages: list[Any]) -> list[Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
    saved = []
    for number, open_page in enumerate(pages, start=1):
        if open_page.is_closed():
            continue
        target = SCREENSHOTS / f"{safe}-{number}.png"
        try:
            open_page.screenshot(path=str(target), full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            print(f"screenshot of page {number} failed: {exc}")
            continue
        saved.append(target)
        print(f"screenshot saved: {target} ({open_page.url})")
    return saved
