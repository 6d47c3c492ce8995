"""Browser tests: a real Chromium (Debian's, through Playwright) against the real app under
gunicorn, with the sandbox on and generated sandbox credentials, exactly what a newcomer runs.

- Every test in this folder is marked `browser` (`-m "not browser"` leaves them out), except
  the modules listed in NOT_BROWSER (plain unit tests of the discovery logic).
- Chromium missing: skipped locally with how to install it; a failure when CI=true.
- One browser per session, one server (fresh SQLite file) per module, fresh contexts per test.
- When a test fails, every page it opened is saved to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.chromium import LAUNCH_ARGS, find_chromium, require_chromium, running_in_ci
from tests.browser.harness import (
    DEFAULT_TIMEOUT_MS,
    generated_secrets,
    sandbox_env,
    save_screenshots,
)
from tests.support.server import Server, running_server

HERE = Path(__file__).resolve().parent
NOT_BROWSER = {"test_discovery.py"}


@pytest.hookimpl(tryfirst=True)  # before -m deselects anything
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if path.parent == HERE and path.name not in NOT_BROWSER:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    # Fixtures' teardown reads item.rep_call to know whether the test failed.
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(node: pytest.Item) -> bool:
    return any(
        getattr(node, f"rep_{when}", None) is not None and getattr(node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


# --- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_chromium(find_chromium())


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        message = "playwright is not installed: `.venv/bin/pip install -e '.[test]'`"
        if running_in_ci(os.environ):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=LAUNCH_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def new_context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Open browser contexts (separate cookie jars: staff, invitee, ...); closed after the test,
    with a screenshot of each of their pages first when the test failed."""
    opened: list[Any] = []

    def open_context(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        opened.append(context)
        return context

    yield open_context
    if _failed(request.node):
        save_screenshots(request.node.name, [p for c in opened for p in c.pages])
    for context in opened:
        context.close()


@pytest.fixture
def context(new_context: Callable[..., Any]) -> Any:
    return new_context()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


# --- the server ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chromium_path: str
) -> Iterator[Server]:
    """One gunicorn per test module; a module sets SERVER_ENV = {...} for extra settings and
    SERVER_WORKERS = n for another number of workers than 2."""
    tmp_path = tmp_path_factory.mktemp("browser-server")
    env = sandbox_env(tmp_path, **getattr(request.module, "SERVER_ENV", {}))
    workers = getattr(request.module, "SERVER_WORKERS", 2)
    with running_server(tmp_path, env=env, workers=workers) as server:
        yield server
        log = server.log()
        leaked = [name for name, value in generated_secrets(server).items() if value in log]
        assert leaked == [], f"the server log shows {leaked}"
        # A live stream whose browser has gone holds a graceful stop for its full timeout
        # (10 s); every test has checked what it needed, so stop at once.
        server.kill()
        assert "Traceback" not in log, log[-5000:]
