"""Start and stop gunicorn servers for the benchmarks (the tests' tests/support/server.py),
and read their processes' figures.

Every server runs in its own process group on a free 127.0.0.1 port with the repo's
gunicorn.conf.py, so that stopping it (SIGTERM, then SIGKILL after a timeout) takes the
workers too, and nothing is left behind when a benchmark fails half-way.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.server import (
    ROOT,
    Server,
    applier_pids,
    child_pids,
    free_port,
    server_env,
    start_server,
    worker_pids,
)

__all__ = [
    "ROOT",
    "CpuProbe",
    "Server",
    "app_env",
    "cpu_seconds",
    "free_port",
    "peak_rss_kib",
    "start_gunicorn",
]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def app_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """The environment an operator would give the app, with its SQLite file in `workdir`."""
    return server_env(workdir, DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}", **overrides)


def start_gunicorn(
    name: str, app_spec: str, env: dict[str, str], logdir: Path, *, workers: int, threads: int
) -> Server:
    """Start `gunicorn -c gunicorn.conf.py ... app_spec`, healthy with every worker up."""
    return start_server(
        env,
        logdir,
        workers=workers,
        threads=threads,
        app_spec=app_spec,
        name=name,
        startup_timeout=90.0,
    )


def cpu_seconds(server: Server) -> float:
    """CPU time (user + system) used so far by the master and its live children: the
    workers and the applier process."""
    pids = [server.process.pid, *child_pids(server.process.pid)]
    return sum(process_cpu_seconds(pid) for pid in pids)


class CpuProbe:
    """`cpu_seconds` as run_load's probe, which reads it at both ends of the measured
    window, keeping apart the applier process's part of each reading: where a delivery's
    CPU goes, the workers (storing) or the applier process (applying)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.applier_readings: list[float] = []

    def __call__(self) -> float:
        appliers = applier_pids(self.server.process.pid)
        self.applier_readings.append(sum(process_cpu_seconds(pid) for pid in appliers))
        return cpu_seconds(self.server)

    def applier_seconds(self) -> float:
        """The applier process's CPU between the first and the last reading."""
        readings = self.applier_readings
        return readings[-1] - readings[0] if len(readings) > 1 else 0.0


def peak_rss_kib(server: Server) -> dict[int, int]:
    """VmHWM (peak resident set size, KiB) of each live worker."""
    return {pid: status_kib(pid, "VmHWM") for pid in worker_pids(server.process.pid)}


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(b")") + 2 :].split()
    # utime and stime are fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the name).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
