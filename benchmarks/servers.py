"""Start and stop gunicorn servers for the benchmarks, and read their processes' figures.

Every server runs in its own process group on a free 127.0.0.1 port with the repo's
gunicorn.conf.py, so that stopping it (SIGTERM, then SIGKILL after a timeout) takes the
workers too, and nothing is left behind when a benchmark fails half-way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(workdir: Path, **overrides: str) -> dict[str, str]:
    """The environment an operator would give the app: its own instance folder and SQLite
    file in `workdir`, freshly generated Cronofy credentials, sandbox off."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CRONOFY_", "GUNICORN_", "WEBAPP_"))
        and key not in {"DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL"}
    }
    instance = workdir / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "WEBAPP_INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "SECRET_KEY": secrets.token_hex(32),
            "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY": "EMB_bench" + secrets.token_hex(8),
            "CRONOFY_SCHEDULER_EMBED_SECRET": "ESK_bench" + secrets.token_hex(24),
            "CRONOFY_CLIENT_SECRET": "CRN_bench" + secrets.token_hex(20),
            "WEBAPP_SANDBOX": "0",
        }
    )
    env.update(overrides)
    return env


@dataclass
class Server:
    name: str
    base_url: str
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def client_secret(self) -> str:
        return self.env["CRONOFY_CLIENT_SECRET"].split(",")[0]

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children, found through /proc."""
        return children_of(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master and its live workers."""
        return sum(process_cpu_seconds(pid) for pid in [self.process.pid, *self.worker_pids()])

    def peak_rss_kib(self) -> dict[int, int]:
        """VmHWM (peak resident set size, KiB) of each live worker."""
        return {pid: status_kib(pid, "VmHWM") for pid in self.worker_pids()}

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_gunicorn(
    name: str,
    app_spec: str,
    env: dict[str, str],
    logdir: Path,
    *,
    workers: int,
    threads: int,
    startup_timeout: float = 90.0,
) -> Server:
    """Start `gunicorn -c gunicorn.conf.py ... app_spec` and wait for /healthz to answer 200."""
    port = free_port()
    log_path = logdir / f"gunicorn-{name}-{port}.log"
    command = [
        GUNICORN,
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        app_spec,
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() takes the workers too
        )
    server = Server(name, f"http://127.0.0.1:{port}", port, env, process, log_path)
    try:
        _wait_healthy(server, startup_timeout, workers)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(server: Server, timeout: float, workers: int) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn ({server.name}) exited with {server.process.returncode}:\n"
                + server.log_tail()
            )
        try:
            answer = httpx.get(server.base_url + "/healthz", timeout=2)
            if answer.status_code == 200 and len(server.worker_pids()) >= workers:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn ({server.name}) not healthy in {timeout} s:\n{server.log_tail()}")


def children_of(parent: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: the fields after it start past ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        if int(fields[1]) == parent:
            pids.append(int(entry))
    return sorted(pids)


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
