"""Scale: the same pages against a small and a large database, requests interleaved.

Each server has its own database; a signed-in client asks each page of each server in
turn (small, large, small, large, ...), so that the machine's noise hits both alike, and
the figure is the ratio of the medians.
"""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack
from dataclasses import dataclass, field

import httpx

from benchmarks.phases import Settings
from benchmarks.report import Report, ms, ratio
from benchmarks.seed import EMAIL, PASSWORD, invitee_email, prepare_app
from benchmarks.servers import peak_rss_kib, start_gunicorn
from tests.support.signin import BROWSER_UA, sign_in_http


@dataclass
class PageTiming:
    path: str
    seconds: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def median(self, side: str) -> float:
        values = self.seconds.get(side) or []
        return statistics.median(values) if values else float("nan")

    def ok(self, side: str) -> bool:
        return self.statuses.get(side) == {200}


def time_pages(
    clients: dict[str, httpx.Client], paths: list[str], *, repeats: int, warmup: int = 2
) -> list[PageTiming]:
    """Median wall time of each page on each server, over `repeats` interleaved requests."""
    timings = [PageTiming(path) for path in paths]
    for round_number in range(warmup + repeats):
        for timing in timings:
            for side, client in clients.items():
                started = time.perf_counter()
                answer = client.get(timing.path)
                elapsed = time.perf_counter() - started
                if round_number < warmup:
                    continue
                timing.seconds.setdefault(side, []).append(elapsed)
                timing.sizes[side] = len(answer.content)
                timing.statuses.setdefault(side, set()).add(answer.status_code)
    return timings


def _expected(path: str, query: str) -> str:
    """Text the page must contain to count as the real page (not a placeholder)."""
    if path.startswith("/links"):
        return "bench-"
    if path.startswith("/insights"):
        return "Of the "  # the funnel's caption, shown only when links were created
    if "?q=" in path:
        return query
    return "invitee-"


def scale_phase(s: Settings, report: Report, stack: ExitStack) -> None:
    """Seed two databases, start a server on each, time the pages, read the workers' RSS."""
    sides = {"small": s.scale_small, "large": s.scale_large}
    servers = {}
    for side, rows in sides.items():
        started = time.perf_counter()
        env, _ = prepare_app(s.workdir / f"scale-{side}", rows, requests=rows)
        report.notes.append(
            f"seeded {rows:,} Scheduling Requests (+ their deliveries), {rows:,} tracked links "
            f"(+ one visit each) in {time.perf_counter() - started:.0f} s"
        )
        servers[side] = start_gunicorn(
            f"scale-{side}",
            "webapp:create_app()",
            env,
            s.workdir,
            workers=s.workers,
            threads=s.threads,
        )
        stack.callback(servers[side].stop)
    clients = {}
    for side, server in servers.items():
        client = httpx.Client(
            base_url=server.base_url, timeout=30, headers={"User-Agent": BROWSER_UA}
        )
        stack.callback(client.close)
        clients[side] = sign_in_http(client, EMAIL, PASSWORD)
    query = invitee_email(s.scale_small // 2)  # one row in each database, mid-table
    paths = ["/", f"/?q={query}", "/links", "/insights"]
    timings = time_pages(clients, paths, repeats=s.page_repeats)
    label = f"{s.scale_large // 1000}k/{s.scale_small // 1000}k"
    for timing in timings:
        name = f"scale: {timing.path.split('?')[0]}" + (
            " (search one invitee)" if "?q=" in timing.path else ""
        )
        problems = []
        for side, client in clients.items():
            if not timing.ok(side):
                problems.append(f"{side} answered {sorted(timing.statuses.get(side, []))}")
            elif _expected(timing.path, query) not in client.get(timing.path).text:
                problems.append(
                    f"{side} page lacks the seeded rows ({_expected(timing.path, query)!r})"
                )
        if problems:
            report.error(f"{name} {label}", "<= 1.5x", "; ".join(problems))
            continue
        small, large = timing.median("small"), timing.median("large")
        value = large / small if small else float("nan")
        report.add(
            f"{name} {label}",
            f"{ratio(value)} ({ms(large)} vs {ms(small)} ms; {timing.sizes['large']:,} vs "
            f"{timing.sizes['small']:,} B)",
            "<= 1.5x",
            value <= 1.5,
        )
    for side in ("large", "small"):
        peak = peak_rss_kib(servers[side])
        report.add(
            f"memory: peak RSS of one worker after the scale run ({sides[side]:,} rows)",
            f"{max(peak.values(), default=0) / 1024:.0f} MiB (max of {len(peak)} workers; all: "
            + ", ".join(f"{kib / 1024:.0f}" for kib in peak.values())
            + " MiB)",
            "-",
            None,
        )
