"""The benchmark phases. Each adds its figures (or an ERROR with the reason) to the report."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from benchmarks import seed
from benchmarks.live import measure_live
from benchmarks.loadgen import LoadResult, build_request, run_load
from benchmarks.report import Report, ms, ratio
from benchmarks.seed import EMAIL, PASSWORD, prepare_app
from benchmarks.servers import (
    ROOT,
    CpuProbe,
    Server,
    app_env,
    free_port,
    peak_rss_kib,
    start_gunicorn,
)
from tests.support.signin import BROWSER_UA
from webapp.webhooks.applier import WATCH_SECONDS

REDIRECT_HEADERS = {
    "User-Agent": BROWSER_UA,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-GB,en;q=0.9",
}
HOP_HEADERS = {"date", "server", "content-length", "connection", "keep-alive", "transfer-encoding"}
REDIRECT_GOAL_VS_BARE = 0.6
REDIRECT_GOAL_VS_SAME_WORK = 0.85


@dataclass
class Settings:
    quick: bool
    workers: int
    threads: int
    concurrency: int
    duration: float
    warmup: float
    reps: int
    redirect_links: int
    live_deliveries: int
    scale_small: int
    scale_large: int
    page_repeats: int
    workdir: Path


def record_run(
    report: Report, name: str, rep: int, side: str, result: LoadResult, ok: range
) -> None:
    bad = result.count_outside(ok.start, ok.stop)
    report.runs.append(
        [
            name,
            str(rep + 1),
            side,
            f"{result.rps:.0f}",
            ms(result.percentile(0.5)),
            ms(result.percentile(0.99)),
            f"{bad} of {result.requests}",
            f"{result.client_cpu / result.seconds:.0%}",
            f"{result.server_cpu / result.seconds:.0%}",
        ]
    )


def interleaved(
    s: Settings,
    report: Report,
    name: str,
    sides: dict[str, tuple[Server, object]],
    ok: range,
    after: dict[str, object] | None = None,
) -> dict[str, list[LoadResult]]:
    """Run each side in turn (bare, app, bare, app, ...) and keep every result; `after`
    names a callable to run after a side's run (e.g. wait until its backlog is applied)."""
    results: dict[str, list[LoadResult]] = {side: [] for side in sides}
    for rep in range(s.reps):
        for side, (server, make_request) in sides.items():
            probe = CpuProbe(server)
            result = asyncio.run(
                run_load(
                    server.base_url,
                    make_request,  # type: ignore[arg-type]
                    concurrency=s.concurrency,
                    duration=s.duration,
                    warmup=s.warmup,
                    probe=probe,
                )
            )
            result.applier_cpu = probe.applier_seconds()
            results[side].append(result)
            record_run(report, name, rep, side, result, ok)
            if after and side in after:
                after[side]()  # type: ignore[operator]
    return results


def median_of(results: list[LoadResult], attribute: str) -> float:
    values = [getattr(r, attribute) for r in results]
    return statistics.median(values) if values else math.nan


def per_repetition(app: list[LoadResult], base: list[LoadResult]) -> str:
    """Each repetition's own ratio (its runs were back to back): how much the machine moved
    during the run, beside the ratio of medians that the target is judged on."""
    return ", ".join(
        ratio(a.rps / b.rps) if b.rps else "-" for a, b in zip(app, base, strict=False)
    )


def compare(
    report: Report,
    name: str,
    results: dict[str, list[LoadResult]],
    goal: float,
    stretch: float | None = None,
) -> None:
    app_rps, bare_rps = median_of(results["app"], "rps"), median_of(results["bare"], "rps")
    value = app_rps / bare_rps if bare_rps else math.nan
    report.add(
        f"{name}: app / bare throughput",
        f"{ratio(value)} ({app_rps:.0f} vs {bare_rps:.0f} req/s, medians; "
        f"each repetition: {per_repetition(results['app'], results['bare'])})",
        f">= {goal}x" + (f" (stretch {stretch}x)" if stretch else ""),
        value >= goal,
    )
    for side in ("app", "bare"):
        p50 = statistics.median(r.percentile(0.5) for r in results[side])
        p99 = statistics.median(r.percentile(0.99) for r in results[side])
        report.add(f"{name}: {side} latency p50 / p99", f"{ms(p50)} / {ms(p99)} ms", "-", None)
    add_cpu_per_request(report, name, results, {"app": "app", "bare": "bare"})


def add_cpu_per_request(
    report: Report, name: str, results: dict[str, list[LoadResult]], labels: dict[str, str]
) -> None:
    """Server CPU per request, each side's median over its repetitions: the servers are
    CPU-bound on this machine, so this is what a throughput ratio is made of. Where an
    applier process did work, its part is shown beside the rest (master and workers)."""
    figures = []
    for side, label in labels.items():
        runs = results[side]
        total = statistics.median(r.server_cpu_per_request for r in runs) * 1e6
        applying = statistics.median(r.applier_cpu / max(r.requests, 1) for r in runs) * 1e6
        figure = f"{label} {total:.0f}"
        if applying > 0.01 * total:  # the baselines' applier processes sit idle
            figure += f" (workers {total - applying:.0f} + applier process {applying:.0f})"
        figures.append(figure)
    report.add(f"{name}: server CPU per request (us)", ", ".join(figures), "-", None)


def client_ceiling(s: Settings, report: Report, bare_302: dict, logdir: Path) -> None:
    """The load generator against a bare asyncio server: how fast the client itself can go."""
    port = free_port()
    env = {**app_env(logdir / "ceiling"), "BENCH_BARE_302": json.dumps(bare_302)}
    with open(logdir / "ceiling.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bare_app", "--raw", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        time.sleep(1.0)
        request = build_request("GET", "http://127.0.0.1/l/ceiling", REDIRECT_HEADERS)
        result = asyncio.run(
            run_load(
                f"http://127.0.0.1:{port}",
                lambda: request,
                concurrency=s.concurrency,
                duration=min(s.duration, 3.0),
                warmup=0.5,
            )
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
    report.add(
        "load generator ceiling (raw asyncio server)",
        f"{result.rps:.0f} req/s, client at {result.client_cpu / result.seconds:.0%} of a core",
        "far above the app",
        None,
    )


def redirect_phase(
    s: Settings,
    report: Report,
    app: Server,
    bare: Server,
    pairs: list[tuple[str, str]],
    bare_302: dict,
    stack: ExitStack,
) -> None:
    """GET /l/<slug> on the app, the constant 302 and the same work on bare Flask."""
    same_dir = s.workdir / "same"
    same_dir.mkdir(exist_ok=True)
    database = same_dir / "bench.sqlite3"  # its own copy: the two servers' visits apart
    source = sqlite3.connect(urlsplit(app.env["DATABASE_URL"]).path)
    target = sqlite3.connect(database)
    try:
        source.backup(target)  # consistent while the app's server is running
    finally:
        source.close()
        target.close()
    same_env = {
        **app.env,
        "DATABASE_URL": f"sqlite:///{database}",
        "BENCH_BARE_302": json.dumps(bare_302),
    }
    same = start_gunicorn(
        "same",
        "benchmarks.bare_app:create_same_work_app()",
        same_env,
        s.workdir,
        workers=s.workers,
        threads=s.threads,
    )
    stack.callback(same.stop)
    requests = [
        build_request("GET", f"http://127.0.0.1/l/{slug}", REDIRECT_HEADERS) for slug, _ in pairs
    ]
    maker = itertools.cycle(requests).__next__
    sides = {"bare": (bare, maker), "same": (same, maker), "app": (app, maker)}
    results = interleaved(s, report, "redirect", sides, range(302, 303))
    same.stop()
    rps = {side: median_of(results[side], "rps") for side in results}
    for label, bottom, goal in (
        ("constant 302", "bare", REDIRECT_GOAL_VS_BARE),
        ("same work on bare Flask", "same", REDIRECT_GOAL_VS_SAME_WORK),
    ):
        value = rps["app"] / rps[bottom] if rps[bottom] else math.nan
        report.add(
            f"redirect: app / {label} throughput",
            f"{ratio(value)} ({rps['app']:.0f} vs {rps[bottom]:.0f} req/s, medians; "
            f"each repetition: {per_repetition(results['app'], results[bottom])})",
            f">= {goal}x",
            value >= goal,
        )
    limit = rps["same"] / rps["bare"] if rps["bare"] else math.nan
    report.add(
        "redirect: same work on bare Flask / constant 302 (the stack's limit)",
        ratio(limit),
        "-",
        None,
    )
    for side, label in (("app", "app"), ("same", "same work"), ("bare", "constant 302")):
        p50 = statistics.median(r.percentile(0.5) for r in results[side])
        p99 = statistics.median(r.percentile(0.99) for r in results[side])
        report.add(f"redirect: {label} latency p50 / p99", f"{ms(p50)} / {ms(p99)} ms", "-", None)
    add_cpu_per_request(
        report, "redirect", results, {"app": "app", "same": "same work", "bare": "constant 302"}
    )
    sizes = {side: len(results[side][0].sample_response) for side in results}
    report.notes.append(
        "redirect response sizes (status line + headers + body): "
        + ", ".join(f"{side} {size} B" for side, size in sizes.items())
        + " (Date/Server headers and the token may differ by a few bytes)"
    )


def throughput_and_live(s: Settings, report: Report, stack: ExitStack) -> None:
    """Redirect and receiver beside the bare app, then live latency on the same server."""
    logdir = s.workdir
    env, pairs = prepare_app(s.workdir / "app", s.redirect_links)
    poll_interval = float(seed.open_app(env).config["SSE_POLL_INTERVAL"])
    app = start_gunicorn(
        "app", "webapp:create_app()", env, logdir, workers=s.workers, threads=s.threads
    )
    stack.callback(app.stop)
    sample = httpx.get(
        f"{app.base_url}/l/{pairs[0][0]}", headers=REDIRECT_HEADERS, follow_redirects=False
    )
    redirect_ok = sample.status_code == 302 and "claim_token=" in sample.headers.get("location", "")
    bare_302 = {
        "status": 302,
        "headers": [
            [k, v] for k, v in sample.headers.multi_items() if k.lower() not in HOP_HEADERS
        ],
        "body": sample.text,
    }
    bare_env = app_env(s.workdir / "bare", BENCH_BARE_302=json.dumps(bare_302))
    bare = start_gunicorn(
        "bare", "benchmarks.bare_app:app", bare_env, logdir, workers=s.workers, threads=s.threads
    )
    stack.callback(bare.stop)
    client_ceiling(s, report, bare_302, logdir)

    if redirect_ok:
        redirect_phase(s, report, app, bare, pairs, bare_302, stack)
    else:
        report.error(
            "redirect: app / constant 302 throughput",
            f">= {REDIRECT_GOAL_VS_BARE}x",
            f"GET /l/<slug> answered {sample.status_code}, not a 302 with a claim token",
        )

    from benchmarks.inbox import flood_phase, receiver_phase  # they use this module's helpers

    correlation_ids = [correlation_id for _, correlation_id in pairs]
    receiver_phase(s, report, app, bare, correlation_ids)
    bare.stop()
    flood_phase(s, report, app, correlation_ids)

    live = asyncio.run(
        measure_live(
            app.base_url,
            EMAIL,
            PASSWORD,
            app.client_secret,
            deliveries=s.live_deliveries,
            correlation_ids=correlation_ids,
            max_pause=2 * poll_interval,
        )
    )
    if not live.latencies:
        report.error("live: receiver 2xx -> SSE row, p95", "<= 250 ms", live.note or "no rows seen")
    else:
        p95 = live.percentile(0.95)
        report.add(
            "live: receiver 2xx -> SSE row, p50 / p95",
            f"{ms(live.percentile(0.5))} / {ms(p95)} ms over {len(live.latencies)} deliveries "
            f"(sent {live.sent}, non-2xx {live.non_2xx}, missed {live.missed})",
            "p95 <= 250 ms" + (", >= 200 deliveries" if s.live_deliveries < 200 else ""),
            p95 <= 0.25 and live.missed == 0 and live.non_2xx == 0,
        )
        report.notes.append(
            f"live: the applier process applies the delivery; the stream's worker notices "
            f"within {WATCH_SECONDS * 1000:.0f} ms (its applier thread's watch) and wakes it; "
            f"SSE_POLL_INTERVAL {poll_interval:g} s is only the fallback; pauses between "
            "deliveries up to two poll intervals, at random"
        )
        report.notes.append(
            f"live stream events seen: {dict(live.events)}, reconnects {live.reconnects}"
            + (f"; {live.note}" if live.note else "")
        )
    peak = peak_rss_kib(app)
    if peak:
        report.add(
            "memory: peak RSS of one worker after redirect/receiver/live",
            f"{max(peak.values()) / 1024:.0f} MiB (max of {len(peak)} workers)",
            "-",
            None,
        )
    app.stop()
