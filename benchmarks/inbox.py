"""The receiver's inbox under load: how soon the applier's backlog drains once the load
stops, and what a flood of bad signatures does to valid deliveries.

The receiver acknowledges a delivery once it is stored and applies it right after, off the
request (webapp/webhooks/applier.py). Its throughput figure only counts if applying keeps
up, so after each receiver run `wait_drained` times the backlog (pending deliveries) down
to zero. `flood` sends bad-signature posts open-loop at a fixed rate (each on its own
connection, as a crowd of clients would) while `run_load` measures valid deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

from benchmarks.deliveries import DeliveryFactory
from benchmarks.loadgen import LoadResult, run_load
from benchmarks.phases import Settings, compare, interleaved, record_run
from benchmarks.report import Report, ms
from benchmarks.servers import Server, cpu_seconds
from tests.support.deliveries import count_with_status

DRAIN_TIMEOUT = 60.0


def pending_count(database_url: str) -> int:
    return count_with_status(database_url, "pending")


def wait_drained(database_url: str, timeout: float = DRAIN_TIMEOUT) -> tuple[float, int]:
    """(seconds until no delivery is pending, the backlog at the start)."""
    started = time.perf_counter()
    backlog = pending_count(database_url)
    left = backlog
    while left and time.perf_counter() - started < timeout:
        time.sleep(0.02)
        left = pending_count(database_url)
    if left:
        raise TimeoutError(f"{left} of {backlog} deliveries still pending after {timeout:g} s")
    return time.perf_counter() - started, backlog


@dataclass
class FloodResult:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def flood(
    base_url: str, make_request: Callable[[], bytes], rate: float, stop: asyncio.Event
) -> FloodResult:
    """POST `make_request()` bytes at `rate` per second, open-loop, until `stop` is set."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = FloodResult()
    tasks: set[asyncio.Task[None]] = set()

    async def one(request: bytes) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            status_line = await asyncio.wait_for(reader.readline(), 30)
            result.statuses[int(status_line.split()[1])] += 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        except (OSError, IndexError, ValueError, TimeoutError):
            result.errors += 1

    started = time.perf_counter()
    while not stop.is_set():
        due = started + result.sent / rate
        delay = due - time.perf_counter()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            continue
        task = asyncio.create_task(one(make_request()))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.sent += 1
    result.seconds = time.perf_counter() - started
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    return result


def receiver_phase(
    s: Settings, report: Report, app: Server, bare: Server, correlation_ids: list[str]
) -> None:
    """Deliveries/s beside the bare endpoint; after each app run, the time until the
    applier has applied everything that run stored (the backlog)."""
    database_url = app.env["DATABASE_URL"]
    drains: list[tuple[float, int]] = []
    app_deliveries = DeliveryFactory(app.client_secret, "load", correlation_ids)
    bare_deliveries = DeliveryFactory("CRN_bare", "bare", correlation_ids)
    results = interleaved(
        s,
        report,
        "receiver",
        {"bare": (bare, bare_deliveries.next_request), "app": (app, app_deliveries.next_request)},
        range(200, 300),
        after={"app": lambda: drains.append(wait_drained(database_url))},
    )
    compare(report, "receiver", results, 0.4, stretch=0.5)
    bad = sum(r.count_outside(200, 300) for r in results["app"])
    total = sum(r.requests for r in results["app"])
    statuses: dict[int, int] = {}
    for r in results["app"]:
        for status, count in r.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    report.add("receiver: app non-2xx answers", f"{bad} of {total} {statuses}", "0", bad == 0)
    slowest, backlog = max(drains)
    report.add(
        "receiver: applier backlog drained after the load stops",
        f"{slowest:.2f} s at most (backlog {backlog} deliveries then; "
        f"each run: {', '.join(f'{d:.2f} s' for d, _ in drains)})",
        "<= 2 s",
        slowest <= 2.0,
    )


def flood_phase(s: Settings, report: Report, app: Server, correlation_ids: list[str]) -> None:
    """A valid delivery's p99 with and without a flood of bad signatures beside it."""
    rate = 300.0
    database_url = app.env["DATABASE_URL"]
    valid = DeliveryFactory(app.client_secret, "calm", correlation_ids)
    forged = DeliveryFactory(app.client_secret, "forged", correlation_ids)

    async def measure(flooding: bool) -> tuple[LoadResult, object]:
        stop = asyncio.Event()
        flooder = asyncio.create_task(
            flood(app.base_url, forged.next_forged_request, rate, stop) if flooding else _idle()
        )
        try:
            result = await run_load(
                app.base_url,
                valid.next_request,
                concurrency=2,
                duration=s.duration,
                warmup=s.warmup,
                probe=partial(cpu_seconds, app),
            )
        finally:
            stop.set()
        return result, await flooder

    figures = {}
    for flooding in (False, True):
        result, flooded = asyncio.run(measure(flooding))
        record_run(report, "flood" if flooding else "calm", 0, "app", result, range(200, 300))
        figures[flooding] = (result, flooded)
        wait_drained(database_url)
    calm, flooded_run = figures[False][0], figures[True][0]
    flood_result = figures[True][1]
    report.add(
        "receiver: valid delivery p99 without / with a bad-signature flood",
        f"{ms(calm.percentile(0.99))} / {ms(flooded_run.percentile(0.99))} ms "
        f"(p50 {ms(calm.percentile(0.5))} / {ms(flooded_run.percentile(0.5))} ms; flood "
        f"{flood_result.rate:.0f}/s answered {dict(flood_result.statuses)}, "
        f"{flood_result.errors} errors; 2 valid senders)",
        "-",
        None,
    )


async def _idle() -> None:
    return None
