"""Real HTTP traffic for the reliability tests (loopback only): concurrent signed senders,
a browser-like sign-in, and Server-Sent Events listeners. Every loop is bounded in count
and in time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from tests.reliability.workload import signed_headers
from tests.support.sse import EventReader

RECEIVER = "/webhooks/cronofy"
POST_TIMEOUT = 30.0  # well above Cronofy's 5 s: a slow answer is measured, not dropped


def run(coroutine: Coroutine[object, object, object]):  # type: ignore[no-untyped-def]
    """asyncio.run in a thread of its own: other tests in the same session (Playwright's sync
    API) may leave an event loop running in the main thread, where asyncio.run refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Outcome:
    """What one post got: an HTTP status and the receiver's answer, or a transport error."""

    status: int | None = None
    answer: str = ""
    error: str = ""
    seconds: float = 0.0

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class SendReport:
    outcomes: list[Outcome | None]  # None: never sent (stopped first)
    seconds: float

    def acknowledged(self) -> list[int]:
        return [i for i, o in enumerate(self.outcomes) if o is not None and o.acknowledged]

    def unsent(self) -> int:
        return sum(1 for o in self.outcomes if o is None)

    def unacknowledged(self) -> list[int]:
        return [i for i, o in enumerate(self.outcomes) if o is None or not o.acknowledged]

    def http_failures(self) -> Counter[tuple[int, str]]:
        """Answers that came back but were not 2xx (a crash gives errors, never these)."""
        return Counter(
            (o.status, o.answer[:200])
            for o in self.outcomes
            if o is not None and o.status is not None and not o.acknowledged
        )

    def assert_all_acknowledged(self, time_limit: float) -> None:
        assert not self.http_failures(), f"non-2xx answers: {self.http_failures()}"
        assert not self.unsent(), (
            f"{self.unsent()} of {len(self.outcomes)} posts were not sent within the "
            f"{time_limit:.0f} s limit (too slow a machine? RELIABILITY_SEND_LIMIT)"
        )
        assert len(self.acknowledged()) == len(self.outcomes), self.answers()

    def answers(self) -> Counter[str]:
        return Counter(
            o.answer if o.status is not None else f"error:{o.error}"
            for o in self.outcomes
            if o is not None
        )

    def latency(self, fraction: float) -> float:
        values = sorted(o.seconds for o in self.outcomes if o is not None and o.acknowledged)
        return values[min(len(values) - 1, int(fraction * len(values)))] if values else 0.0


async def send_all(
    base_url: str,
    client_secret: str,
    bodies: Sequence[bytes],
    senders: int,
    *,
    time_limit: float,
    stop: asyncio.Event | None = None,
    on_acknowledged: Callable[[int], None] | None = None,
) -> SendReport:
    """POST every body once, signed, from `senders` concurrent keep-alive connections.

    Stops taking new bodies when `stop` is set (in-flight posts finish or fail); each worker
    also stops at `time_limit` seconds. `on_acknowledged(total)` runs after every 2xx.
    """
    outcomes: list[Outcome | None] = [None] * len(bodies)
    queue = iter(range(len(bodies)))  # shared: each index is taken by exactly one worker
    started = time.monotonic()
    acknowledged = 0
    limits = httpx.Limits(max_connections=senders, max_keepalive_connections=senders)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal acknowledged
        for index in queue:
            if (stop is not None and stop.is_set()) or time.monotonic() - started > time_limit:
                return
            body = bodies[index]
            began = time.monotonic()
            try:
                response = await client.post(
                    RECEIVER, content=body, headers=signed_headers(body, client_secret)
                )
            except httpx.HTTPError as exc:
                outcomes[index] = Outcome(
                    error=type(exc).__name__, seconds=time.monotonic() - began
                )
                continue
            outcome = Outcome(response.status_code, _answer(response), "", time.monotonic() - began)
            outcomes[index] = outcome
            if outcome.acknowledged:
                acknowledged += 1
                if on_acknowledged is not None:
                    on_acknowledged(acknowledged)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=POST_TIMEOUT) as client:
        await asyncio.gather(*(worker(client) for _ in range(senders)))
    return SendReport(outcomes, time.monotonic() - started)


def _answer(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(document, dict) and "status" in document:
        return str(document["status"])
    return json.dumps(document)[:200]


@dataclass
class Listener:
    """One open live stream: every scheduling_request_id its `row` events carried."""

    number: int
    seen: set[str] = field(default_factory=set)
    first_seen: dict[str, float] = field(default_factory=dict)
    rows: int = 0
    connections: int = 0
    errors: list[str] = field(default_factory=list)
    last_event_id: str | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, client: httpx.AsyncClient, max_connections: int = 10) -> None:
        """Read the stream until cancelled; reconnect (with Last-Event-ID) when it ends,
        as a browser's EventSource does, at most max_connections times."""
        while self.connections < max_connections:
            self.connections += 1
            headers = {"Accept": "text/event-stream"}
            if self.last_event_id is not None:
                headers["Last-Event-ID"] = self.last_event_id
            try:
                async with client.stream("GET", "/live/stream", headers=headers) as response:
                    if response.status_code != 200:
                        self.errors.append(f"HTTP {response.status_code}")
                        await asyncio.sleep(1)
                        continue
                    await self._read(response)
            except httpx.HTTPError as exc:
                self.errors.append(type(exc).__name__)
                await asyncio.sleep(1)

    async def _read(self, response: httpx.Response) -> None:
        reader = EventReader(self.last_event_id)
        try:
            async for line in response.aiter_lines():
                self.ready.set()  # the first line is the server's `retry:` and ping
                event = reader.feed(line)
                if event is None or event.name != "row":
                    continue
                try:
                    self._row(json.loads(event.data))
                except ValueError:
                    self.errors.append(f"row data is not JSON: {event.data[:80]}")
        finally:
            self.last_event_id = reader.last_event_id

    def _row(self, document: dict) -> None:
        self.rows += 1
        srq_id = document.get("id")
        if not isinstance(srq_id, str) or "<tr" not in str(document.get("html")):
            self.errors.append(f"odd row event: {str(document)[:200]}")
            return
        if srq_id not in self.seen:
            self.seen.add(srq_id)
            self.first_seen[srq_id] = time.monotonic()
