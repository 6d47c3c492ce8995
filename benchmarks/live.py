"""Live latency: from the receiver's 2xx to the matching `event: row` on an open SSE stream.

A signed-in client keeps `GET /live/stream` open; deliveries are posted one at a time,
each after the previous one has shown up on the stream (or timed out) and a random pause
of up to two of the stream's poll intervals, so that the deliveries do not fall in step with
the polling (posting right after a row arrives would always land just after a poll).
For each delivery the latency is (time its event arrived) - (time its 2xx was received),
floored at 0 (the row may reach the stream before the receiver's answer reaches the client).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from benchmarks.deliveries import DeliveryFactory
from benchmarks.loadgen import percentile
from tests.support.signin import BROWSER_UA, sign_in_http_async
from tests.support.sse import EventReader


@dataclass
class LiveResult:
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    non_2xx: int = 0
    missed: int = 0  # 2xx deliveries whose row never came within the timeout
    events: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    note: str = ""

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)


class _Stream:
    """Reads the SSE stream, noting when each `srq_<prefix>...` id first appears in an event."""

    def __init__(self, client: httpx.AsyncClient, prefix: str, result: LiveResult) -> None:
        self.client = client
        self.pattern = re.compile(rf"srq_{re.escape(prefix)}\d+")
        self.result = result
        self.arrived: dict[str, float] = {}
        self.changed = asyncio.Event()
        self.ready = asyncio.Event()
        self.last_event_id: str | None = None
        self.failure: str = ""

    async def run(self, max_reconnects: int = 5) -> None:
        for attempt in range(max_reconnects + 1):
            headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
            if self.last_event_id:
                headers["Last-Event-ID"] = self.last_event_id
            try:
                if not await self._read_once(headers):
                    return  # refused (not signed in, no such page): nothing to measure
            except httpx.HTTPError as error:
                self.failure = f"stream error: {error!r}"
            if attempt < max_reconnects:
                self.result.reconnects += 1
                await asyncio.sleep(0.2)

    async def _read_once(self, headers: dict[str, str]) -> bool:
        timeout = httpx.Timeout(10.0, read=60.0)
        async with self.client.stream(
            "GET", "/live/stream", headers=headers, timeout=timeout
        ) as response:
            kind = response.headers.get("content-type", "")
            if response.status_code != 200 or not kind.startswith("text/event-stream"):
                self.failure = f"GET /live/stream answered {response.status_code} {kind!r}"
                self.ready.set()
                return False
            self.ready.set()
            reader = EventReader(self.last_event_id)
            try:
                async for event in reader.events(response):
                    self._dispatch(event.name, event.data)
            finally:
                self.last_event_id = reader.last_event_id
        return True

    def _dispatch(self, name: str, data: str) -> None:
        now = time.perf_counter()
        self.result.events[name] += 1
        for srq in self.pattern.findall(data):
            self.arrived.setdefault(srq, now)
        self.changed.set()

    async def wait_for(self, srq: str, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while srq not in self.arrived:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)
        return self.arrived[srq]


async def measure_live(
    base_url: str,
    email: str,
    password: str,
    client_secret: str,
    *,
    deliveries: int,
    correlation_ids: list[str],
    timeout: float = 5.0,
    settle: float = 1.0,
    max_pause: float = 0.5,
) -> LiveResult:
    """Post `deliveries` signed deliveries one at a time and time each one's arrival."""
    result = LiveResult()
    prefix = f"live{random.randrange(10**6):06d}x"
    factory = DeliveryFactory(client_secret, prefix, correlation_ids)
    client = httpx.AsyncClient(base_url=base_url, timeout=30, headers={"User-Agent": BROWSER_UA})
    try:
        await sign_in_http_async(client, email, password)
    except BaseException:
        await client.aclose()
        raise
    stream = _Stream(client, prefix, result)
    reader = asyncio.create_task(stream.run())
    try:
        await asyncio.wait_for(stream.ready.wait(), 15)
        if stream.failure:
            result.note = stream.failure
            return result
        await asyncio.sleep(settle)  # let any catch-up backlog drain first
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as poster:
            for _ in range(deliveries):
                srq, body = factory.next_body()
                answer = await poster.post(
                    "/webhooks/cronofy", content=body, headers=factory.headers(body)
                )
                acked = time.perf_counter()
                result.sent += 1
                if not 200 <= answer.status_code < 300:
                    result.non_2xx += 1
                    continue
                arrived = await stream.wait_for(srq, timeout)
                if arrived is None:
                    result.missed += 1
                else:
                    result.latencies.append(max(0.0, arrived - acked))
                if reader.done():
                    result.note = stream.failure or "the stream ended"
                    break
                await asyncio.sleep(random.uniform(0.0, max_pause))
        if stream.failure and not result.note:
            result.note = stream.failure
        return result
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        await client.aclose()
