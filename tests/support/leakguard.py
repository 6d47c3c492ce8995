"""Watch a test for secrets leaking into responses, CLI output and log lines.

The Embed Secret never reaches a browser, a log line or an API response; the client
secrets and SECRET_KEY neither (docs/architecture.md, "Invariants"). tests/conftest.py
runs every test of the suite under a LeakGuard: it swaps in test-client and CLI-runner
classes that record what the app answered, records every log record, records httpx
responses from real servers, and at teardown looks for the secret values of every app (and
gunicorn server) the test used.

Findings name the secret and where it showed, never the value itself, so that a failing
run does not print the secret into CI logs either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from flask import Flask, appcontext_pushed
from flask.testing import FlaskClient, FlaskCliRunner

# Shorter values (a test's "CRN_a") are too likely to occur by chance in a page.
MIN_SECRET_LENGTH = 8
APP_SECRET_KEYS = ("CRONOFY_SCHEDULER_EMBED_SECRET", "SECRET_KEY")
ENV_SECRET_KEYS = ("CRONOFY_SCHEDULER_EMBED_SECRET", "SECRET_KEY")
STREAM_MIMETYPES = ("text/event-stream",)

_active: list[LeakGuard] = []


@dataclass(frozen=True)
class Capture:
    where: str
    data: bytes


class LeakGuard:
    """Collects what a test's apps said and which secrets they hold; reports overlaps."""

    def __init__(self) -> None:
        self.captures: list[Capture] = []
        self._apps: dict[int, Flask] = {}
        self._envs: list[tuple[str, dict[str, str]]] = []
        # Secrets the app shows exactly once (a webhook endpoint's signing secret): the
        # answer that creates one may show it, any second sighting is a leak.
        self._shown_once: dict[str, str] = {}

    def watch_shown_once(self, value: str, label: str) -> None:
        if len(value) >= MIN_SECRET_LENGTH:
            self._shown_once.setdefault(value, label)

    # -- what must stay secret ----------------------------------------------------------

    def watch_app(self, app: Flask) -> None:
        self._apps.setdefault(id(app), app)

    def watch_env(self, env: dict[str, str], label: str) -> None:
        """A real server's environment (tests/support/server.py)."""
        self._envs.append((label, env))

    def secrets(self) -> dict[str, str]:
        """Secret value -> a label that names it (read at the end: config may change)."""
        found: dict[str, str] = {}

        def add(label: str, value: Any) -> None:
            if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
                found.setdefault(value.strip(), label)

        for number, app in enumerate(self._apps.values()):
            config = app.config
            for key in APP_SECRET_KEYS:
                add(f"app {number} {key}", config.get(key))
            add(f"app {number} MAIL_URL password", _mail_password(config.get("MAIL_URL")))
            for index, secret in enumerate(config.get("CLIENT_SECRETS") or []):
                add(f"app {number} CLIENT_SECRETS[{index}]", secret)
        for label, env in self._envs:
            for key in ENV_SECRET_KEYS:
                add(f"{label} {key}", env.get(key))
            for index, secret in enumerate((env.get("CRONOFY_CLIENT_SECRET") or "").split(",")):
                add(f"{label} CRONOFY_CLIENT_SECRET[{index}]", secret)
        return found

    # -- what was said --------------------------------------------------------------------

    def capture(self, where: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        if data:
            self.captures.append(Capture(where, data))

    def capture_headers(self, where: str, headers: Iterable[tuple[str, str]]) -> None:
        self.capture(where + " headers", "\n".join(f"{name}: {value}" for name, value in headers))

    def leaks(self) -> list[str]:
        """One line per (secret, place) where a secret value was seen."""
        found = []
        for value, label in self.secrets().items():
            needle = value.encode()
            for capture in self.captures:
                if needle in capture.data:
                    found.append(f"{label} appeared in {capture.where}")
        for value, label in self._shown_once.items():
            seen = [capture.where for capture in self.captures if value.encode() in capture.data]
            found.extend(f"{label} appeared again in {where}" for where in seen[1:])
        return found


def _mail_password(url: Any) -> str | None:
    if not isinstance(url, str) or "@" not in url:
        return None
    from urllib.parse import unquote, urlsplit

    password = urlsplit(url).password
    return unquote(password) if password else None


# -- hooks --------------------------------------------------------------------------------


class _Tee:
    """A streamed body that records each chunk as the test reads it (SSE never ends)."""

    def __init__(self, inner: Iterable[bytes], guard: LeakGuard, where: str) -> None:
        self._inner = inner
        self._iterator: Iterator[bytes] | None = None
        self._guard = guard
        self._where = where

    def __iter__(self) -> _Tee:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = iter(self._inner)
        chunk = next(self._iterator)
        self._guard.capture(self._where, chunk)
        return chunk

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


def _record_response(guard: LeakGuard, response: Any, where: str) -> None:
    guard.capture_headers(where, response.headers.items())
    if response.mimetype in STREAM_MIMETYPES:
        response.response = _Tee(response.response, guard, where)
        return
    guard.capture(where, response.get_data())


class CapturingClient(FlaskClient):
    """The test client; every answer (redirect hops too) is recorded by the active guard."""

    def open(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        response = super().open(*args, **kwargs)
        if _active:
            guard = _active[-1]
            guard.watch_app(self.application)
            for hop in (*getattr(response, "history", ()), response):
                request = getattr(hop, "request", None)
                label = f"{request.method} {request.path}" if request is not None else "response"
                if not getattr(hop, "_leak_guard_seen", False):
                    hop._leak_guard_seen = True
                    _record_response(guard, hop, f"response to {label}")
        return response


class CapturingCliRunner(FlaskCliRunner):
    def invoke(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        result = super().invoke(*args, **kwargs)
        if _active:
            _active[-1].watch_app(self.app)
            _active[-1].capture("CLI output", result.output or "")
        return result


class _LogHandler(logging.Handler):
    def __init__(self, guard: LeakGuard) -> None:
        super().__init__(logging.NOTSET)
        self.guard = guard
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a malformed record must not break the test it happens in
            text = f"{record.msg!r} {record.args!r}"
        self.guard.capture(f"log record of {record.name}", text)


def _httpx_hooks(guard: LeakGuard) -> tuple[Any, Any]:
    original_send = httpx.Client.send
    original_async_send = httpx.AsyncClient.send

    def record(response: httpx.Response, stream: bool) -> None:
        where = f"httpx response to {response.request.method} {response.request.url}"
        guard.capture_headers(where, response.headers.multi_items())
        if not stream:
            guard.capture(where, response.content)

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = original_send(self, request, **kwargs)
        record(response, kwargs.get("stream", False))
        return response

    async def async_send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        response = await original_async_send(self, request, **kwargs)
        record(response, kwargs.get("stream", False))
        return response

    return send, async_send


@contextmanager
def watching(guard: LeakGuard) -> Iterator[LeakGuard]:
    """Install every hook for the duration of one test; undo them all afterwards."""
    saved = (
        Flask.test_client_class,
        Flask.test_cli_runner_class,
        httpx.Client.send,
        httpx.AsyncClient.send,
        logging.Logger.callHandlers,
    )
    handler = _LogHandler(guard)
    original_call_handlers = logging.Logger.callHandlers
    app_logger = logging.getLogger("webapp")
    saved_level = app_logger.level

    def on_app_context(sender: Flask, **_: Any) -> None:
        guard.watch_app(sender)

    from webapp.outbound import signing

    original_new_secret = signing.new_secret

    def recording_new_secret() -> str:
        value = original_new_secret()
        guard.watch_shown_once(value, "a webhook endpoint's signing secret")
        return value

    signing.new_secret = recording_new_secret  # type: ignore[assignment]
    Flask.test_client_class = CapturingClient
    Flask.test_cli_runner_class = CapturingCliRunner
    httpx.Client.send, httpx.AsyncClient.send = _httpx_hooks(guard)  # type: ignore[method-assign]

    # Every record any logger emits, whichever handlers exist: a root handler would not do,
    # because logging.config.fileConfig (Alembic's env.py) removes the root's handlers.
    def call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
        handler.handle(record)
        original_call_handlers(self, record)

    logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
    # The app's own INFO/DEBUG records too (the root logger stays at WARNING, so that
    # SQLAlchemy does not start logging every statement).
    if app_logger.level == logging.NOTSET or app_logger.level > logging.DEBUG:
        app_logger.setLevel(logging.DEBUG)
    appcontext_pushed.connect(on_app_context, weak=False)
    _active.append(guard)
    try:
        yield guard
    finally:
        signing.new_secret = original_new_secret  # type: ignore[assignment]
        _active.remove(guard)
        appcontext_pushed.disconnect(on_app_context)
        app_logger.setLevel(saved_level)
        (
            Flask.test_client_class,
            Flask.test_cli_runner_class,
            httpx.Client.send,
            httpx.AsyncClient.send,
            logging.Logger.callHandlers,
        ) = saved  # type: ignore[method-assign]


def active_guard() -> LeakGuard | None:
    return _active[-1] if _active else None
