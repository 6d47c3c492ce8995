"""Run every benchmark and print the results table: `.venv/bin/python benchmarks/run.py`.

`--quick` is a ~2-minute smoke run; the default (~5-10 minutes) is the one whose figures
count. Everything runs on 127.0.0.1 in a temporary folder; every server is stopped at the
end, on error, on Ctrl-C and when the whole-run time limit is hit. The table is also
written to benchmarks/results/latest.md. See benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import tempfile
import traceback
from contextlib import ExitStack
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `webapp` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.phases import Settings, throughput_and_live  # noqa: E402
from benchmarks.report import Report  # noqa: E402
from benchmarks.scale import scale_phase  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "latest.md"


class TimeLimit(Exception):
    pass


def parse_settings(argv: list[str] | None = None) -> tuple[Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(description="Run the benchmarks and print the table.")
    parser.add_argument("--quick", action="store_true", help="~2-minute smoke run")
    parser.add_argument("--workers", type=int, default=min(4, 2 * (os.cpu_count() or 1)))
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--duration", type=float, help="seconds per side per repetition")
    parser.add_argument("--reps", type=int, help="repetitions of each (bare, app) pair")
    parser.add_argument("--live-deliveries", type=int)
    parser.add_argument("--scale-small", type=int)
    parser.add_argument("--scale-large", type=int)
    parser.add_argument("--only", choices=["throughput", "scale"], help="run one phase")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--time-limit", type=float, help="seconds before the run is stopped")
    args = parser.parse_args(argv)
    quick = args.quick
    settings = Settings(
        quick=quick,
        workers=args.workers,
        threads=args.threads,
        concurrency=args.concurrency,
        duration=args.duration or (3.0 if quick else 10.0),
        warmup=1.0,
        reps=args.reps or (2 if quick else 3),
        redirect_links=1000,
        live_deliveries=args.live_deliveries or (100 if quick else 300),
        scale_small=args.scale_small or (2_000 if quick else 10_000),
        scale_large=args.scale_large or (20_000 if quick else 100_000),
        page_repeats=7 if quick else 15,
        workdir=Path(tempfile.mkdtemp(prefix="webapp-bench-")),
    )
    args.time_limit = args.time_limit or (360 if quick else 1200)
    return settings, args


def describe(s: Settings) -> list[str]:
    return [
        f"gunicorn: -c gunicorn.conf.py --workers {s.workers} --threads {s.threads} "
        "(gthread, keep-alive 5 s), app and bare alike; SQLite file per server; loopback only",
        f"load: {s.concurrency} keep-alive HTTP/1.1 connections (asyncio client), "
        f"{s.duration:g} s per side after {s.warmup:g} s warm-up, {s.reps} repetitions "
        "interleaved bare, app, bare, app...; figures are medians over repetitions",
        f"redirect: {s.redirect_links} tracked links in turn, browser User-Agent, interleaved "
        "with two baselines: a constant 302 and the same work on bare Flask "
        "(benchmarks/bare_app.py); receiver: distinct signed deliveries (Cronofy's example "
        "body, unique id and triggered_at)",
        f"live: {s.live_deliveries} deliveries one at a time, one signed-in SSE stream",
        f"scale: {s.scale_small:,} vs {s.scale_large:,} Scheduling Requests and tracked links "
        f"(separate databases, servers side by side), median of {s.page_repeats} "
        "interleaved requests per page after 2 warm-ups, signed in",
    ]


def main(argv: list[str] | None = None) -> int:
    settings, args = parse_settings(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    report = Report(settings=describe(settings))

    def on_alarm(_signum, _frame):  # type: ignore[no-untyped-def]
        raise TimeLimit(f"the run took longer than {args.time_limit:.0f} s")

    def on_term(_signum, _frame):  # type: ignore[no-untyped-def]
        raise SystemExit(143)  # unwinds the ExitStack, so the servers are stopped

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(int(args.time_limit))
    failed = False
    phases = [("throughput", throughput_and_live), ("scale", scale_phase)]
    try:
        for name, phase in phases:
            if args.only and args.only != name:
                continue
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
            with ExitStack() as stack:
                try:
                    phase(settings, report, stack)
                except (Exception, TimeLimit) as error:
                    failed = True
                    report.error(f"{name} phase", "-", f"{type(error).__name__}: {error}"[:400])
                    traceback.print_exc()
                    if isinstance(error, TimeLimit):
                        break
    finally:
        signal.alarm(0)
        text = report.render(settings.quick)
        print(text)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"[bench] written to {RESULTS}", file=sys.stderr)
        if args.keep or failed:
            print(f"[bench] logs kept in {settings.workdir}", file=sys.stderr)
        else:
            shutil.rmtree(settings.workdir, ignore_errors=True)
    results = [figure.result for figure in report.figures]
    return 1 if failed or any(r == "FAIL" or r.startswith("ERROR") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
