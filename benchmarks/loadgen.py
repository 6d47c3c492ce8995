"""A small closed-loop HTTP/1.1 load generator on raw asyncio protocols.

Each of `concurrency` keep-alive connections sends one request, waits for the whole
response, and sends the next, for a fixed time. Requests are ready-made bytes from a
callable, responses are parsed just enough to find their end (Content-Length or chunked),
so the client spends a few microseconds per request: far less than a Flask app behind
gunicorn. The result carries the client's own CPU time, so the report can show that the
client was not the bottleneck.

Standalone use: `python -m benchmarks.loadgen http://127.0.0.1:8000/healthz -c 16 -d 5`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

RequestMaker = Callable[[], bytes]


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    client_cpu: float = 0.0  # seconds of this process's CPU during the measured window
    server_cpu: float = 0.0  # seconds of the server's CPU in the same window (from `probe`)
    applier_cpu: float = 0.0  # of server_cpu, the applier process's part (the app's receiver)
    sample_response: bytes = b""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_per_request(self) -> float:
        """Seconds of server CPU per answered request in the measured window."""
        return self.server_cpu / self.requests if self.requests else float("nan")

    def percentile(self, fraction: float) -> float:
        return percentile(self.latencies, fraction)

    def count_outside(self, low: int, high: int) -> int:
        """Responses whose status is not in [low, high), plus connection errors."""
        return self.errors + sum(n for s, n in self.statuses.items() if not low <= s < high)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(fraction * 1000) - 1]


def build_request(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target or '/'} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `exchange()` sends a request and waits for its response."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bool, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed mid-response"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        parsed = _parse_response(self.buffer)
        if parsed is not None:
            status, keep_alive, size = parsed
            raw = bytes(self.buffer[:size])
            del self.buffer[:size]
            self.waiter.set_result((status, keep_alive, raw))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, bool, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


def _parse_response(buffer: bytearray) -> tuple[int, bool, int] | None:
    """(status, keep-alive, total size) once the whole response is in `buffer`, else None."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    keep_alive = headers.get("connection") != "close"
    body_start = head_end + 4
    if "chunked" in headers.get("transfer-encoding", ""):
        position = body_start
        while True:
            line_end = buffer.find(b"\r\n", position)
            if line_end < 0:
                return None
            size = int(bytes(buffer[position:line_end]).split(b";")[0], 16)
            position = line_end + 2 + size + 2
            if len(buffer) < position:
                return None
            if size == 0:
                return status, keep_alive, position
    length = int(headers.get("content-length", "0"))
    if len(buffer) < body_start + length:
        return None
    return status, keep_alive, body_start + length


async def run_load(
    url: str,
    make_request: RequestMaker,
    *,
    concurrency: int,
    duration: float,
    warmup: float = 1.0,
    probe: Callable[[], float] | None = None,
) -> LoadResult:
    """Drive `concurrency` connections for `warmup` + `duration` seconds; measure the latter.

    `probe`, when given, returns the server's CPU seconds so far; it is read at both ends of
    the measured window.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    state = {"recording": False, "errors": 0, "sample": b""}

    async def connect() -> _Connection:
        for attempt in range(20):  # bounded: a server that stays away fails the run
            try:
                _, protocol = await loop.create_connection(_Connection, host, port)
                return protocol
            except OSError:
                if state["recording"]:
                    state["errors"] += 1
                await asyncio.sleep(0.05 * (attempt + 1))
        raise ConnectionError(f"cannot connect to {host}:{port}")

    async def worker() -> None:
        holder = [await connect()]
        try:
            await exchange_forever(holder)
        finally:
            # Close what is in flight when the run ends: gunicorn's main thread waits up to
            # 2 s per connection for the client's FIN (util.close_graceful), and abandoned
            # connections stalled the next run's accepts for many seconds.
            if holder[0].transport is not None:
                holder[0].transport.close()

    async def exchange_forever(holder: list[_Connection]) -> None:
        failures = 0
        while True:
            request = make_request()
            started = time.perf_counter()
            try:
                status, keep_alive, raw = await holder[0].exchange(request)
            except (ConnectionError, OSError):
                if state["recording"]:
                    state["errors"] += 1
                failures += 1
                await asyncio.sleep(min(1.0, 0.01 * failures))  # bounded back-off
                holder[0] = await connect()
                continue
            elapsed = time.perf_counter() - started
            if state["recording"]:
                latencies.append(elapsed)
                statuses[status] += 1
            elif not state["sample"]:
                state["sample"] = raw
            if not keep_alive or holder[0].closed:
                if holder[0].transport is not None:
                    holder[0].transport.close()
                holder[0] = await connect()

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup)
        state["recording"] = True
        cpu_before = _cpu_seconds()
        server_before = probe() if probe else 0.0
        began = time.perf_counter()
        await asyncio.sleep(duration)
        state["recording"] = False
        seconds = time.perf_counter() - began
        cpu = _cpu_seconds() - cpu_before
        server_cpu = (probe() - server_before) if probe else 0.0
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [r for r in results if isinstance(r, Exception) and not _is_cancel(r)]
    if failed and not latencies:
        raise RuntimeError(f"every connection failed: {failed[0]!r}")
    return LoadResult(
        requests=len(latencies),
        seconds=seconds,
        latencies=latencies,
        statuses=statuses,
        errors=int(state["errors"]),
        client_cpu=cpu,
        server_cpu=server_cpu,
        sample_response=bytes(state["sample"]),
    )


def _is_cancel(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("-d", "--duration", type=float, default=5.0)
    args = parser.parse_args()
    request = build_request("GET", args.url, {"User-Agent": "benchmarks.loadgen"})
    result = asyncio.run(
        run_load(args.url, lambda: request, concurrency=args.concurrency, duration=args.duration)
    )
    print(
        f"{result.rps:.0f} req/s, p50 {result.percentile(0.5) * 1000:.1f} ms, "
        f"p99 {result.percentile(0.99) * 1000:.1f} ms, statuses {dict(result.statuses)}, "
        f"errors {result.errors}, client CPU {result.client_cpu / result.seconds:.0%} of a core"
    )


if __name__ == "__main__":
    main()
