"""Slow clients, as issue 9 §1 found them: many connections from one client, each sending its
request a little at a time (loopback only; bounded in connections and in time).

- "headers" (slowloris): a request line, then one more header line every `interval` seconds;
  the header never ends.
- "body": a complete header for a POST to the receiver declaring a large (but allowed)
  Content-Length, then one body byte every `interval` seconds.

A connection the server closes is opened again, as an attacker would, until the attack stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field

from tests.reliability.traffic import RECEIVER

BODY_LENGTH = 1_000_000  # under the 1 MiB limit: a proxy must take it, not refuse it


@dataclass
class AttackStats:
    connected: int = 0  # connections opened (and their first bytes sent)
    closed_by_server: int = 0
    failed: int = 0
    open_now: int = 0


@dataclass
class SlowClients:
    host: str  # the address to connect to (127.0.0.1)
    port: int
    kind: str  # "headers" or "body"
    host_header: str
    connections: int = 150
    interval: float = 2.0
    tls: ssl.SSLContext | None = None
    stats: AttackStats = field(default_factory=AttackStats)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client(n)) for n in range(self.connections)]

    async def wait_until_connected(self, timeout: float) -> None:
        """Until every connection is open and has sent its first bytes (or timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.stats.open_now < self.connections and loop.time() < deadline:
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _first_bytes(self, number: int) -> bytes:
        if self.kind == "headers":
            return f"GET /healthz?slow={number} HTTP/1.1\r\nHost: {self.host_header}\r\n".encode()
        return (
            f"POST {RECEIVER} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            "Cronofy-HMAC-SHA256: c2xvdw==\r\n"
            f"Content-Length: {BODY_LENGTH}\r\n\r\n{{"
        ).encode()

    def _trickle(self, count: int) -> bytes:
        return f"X-Slow-{count}: 1\r\n".encode() if self.kind == "headers" else b" "

    async def _client(self, number: int) -> None:
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        self.host,
                        self.port,
                        ssl=self.tls,
                        server_hostname=self.host_header if self.tls else None,
                    ),
                    10,
                )
            except (OSError, TimeoutError):
                self.stats.failed += 1
                await self._pause()
                continue
            try:
                await self._hold(number, reader, writer)
            finally:
                writer.close()
                with contextlib.suppress(OSError, ssl.SSLError):
                    await writer.wait_closed()

    async def _hold(
        self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Send the request slowly until told to stop or the server closes the connection."""
        closed = asyncio.create_task(reader.read())  # ends when the server closes
        try:
            writer.write(self._first_bytes(number))
            await writer.drain()
            self.stats.connected += 1
            self.stats.open_now += 1
            try:
                count = 0
                while not self._stop.is_set():
                    stop = asyncio.create_task(self._stop.wait())
                    done, _ = await asyncio.wait(
                        {closed, stop}, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    stop.cancel()
                    if closed in done:
                        self.stats.closed_by_server += 1
                        return
                    if not done:
                        count += 1
                        writer.write(self._trickle(count))
                        await writer.drain()
            finally:
                self.stats.open_now -= 1
        except (OSError, ssl.SSLError):
            self.stats.closed_by_server += 1
        finally:
            closed.cancel()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), self.interval)
