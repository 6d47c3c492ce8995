"""Run the real app under gunicorn on a free loopback port, for end-to-end tests.

The server gets its own instance folder and database (a SQLite file in the test's tmp
folder, or TEST_DATABASE_URL when the suite runs on PostgreSQL) and freshly generated
credentials, all passed through the environment exactly as an operator would.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy.engine import make_url

from tests.support import leakguard
from tests.support.config import TEST_DATABASE_URL
from webapp import doorbell
from webapp.webhooks.applier import database_key

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base_url: str
    env: dict[str, str]
    process: subprocess.Popen
    log_path: Path
    database_url: str
    extra: dict[str, str] = field(default_factory=dict)
    name: str = "app"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def client_secret(self) -> str:
        return self.env["CRONOFY_CLIENT_SECRET"].split(",")[0]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill the whole server (master and workers), as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group (the graceful stop), SIGKILL after `timeout`."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()


def server_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment an operator would give the app: its own instance folder, the database
    under test, freshly generated credentials, sandbox off; nothing of the app's settings is
    inherited from the caller's environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CRONOFY_", "GUNICORN_", "WEBAPP_"))
        and key not in {"DATABASE_URL", "SECRET_KEY", "PUBLIC_BASE_URL"}
    }
    instance = tmp_path / "server-instance"
    instance.mkdir(parents=True, exist_ok=True)
    database_url = TEST_DATABASE_URL or f"sqlite:///{tmp_path / 'server.sqlite3'}"
    env.update(
        {
            "WEBAPP_INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(16),
            "CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY": "EMB_e2e" + secrets.token_hex(6),
            "CRONOFY_SCHEDULER_EMBED_SECRET": "ESK_e2e" + secrets.token_hex(20),
            "CRONOFY_CLIENT_SECRET": "CRN_e2e" + secrets.token_hex(20),
            "WEBAPP_SANDBOX": "0",
        }
    )
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def start_server(
    env: dict[str, str],
    log_dir: Path,
    *,
    workers: int = 2,
    threads: int = 16,
    port: int | None = None,
    app_spec: str = "webapp:create_app()",
    name: str = "app",
    startup_timeout: float = 60.0,
) -> Server:
    """Start gunicorn with gunicorn.conf.py in its own process group and wait until /healthz
    answers and every worker is up; the caller stops it (Server.stop)."""
    port = port or free_port()
    log_path = log_dir / f"gunicorn-{name}-{port}.log"
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
            start_new_session=True,  # its own process group, so kill() takes the workers too
        )
    server = Server(
        base_url=f"http://127.0.0.1:{port}",
        env=env,
        process=process,
        log_path=log_path,
        database_url=env.get("DATABASE_URL", ""),
        name=name,
    )
    with_applier = app_spec == "webapp:create_app()" and env.get("WEBAPP_APPLIER_PROCESS") != "0"
    try:
        wait_until_healthy(server, startup_timeout, workers, with_applier)
    except BaseException:
        server.stop()
        raise
    return server


@contextmanager
def running_server(
    tmp_path: Path,
    *,
    workers: int = 2,
    threads: int = 16,
    env: dict[str, str] | None = None,
    port: int | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[Server]:
    """Start gunicorn (start_server); stop it, and print its log on failure, after."""
    environment = env or server_env(tmp_path)
    guard = leakguard.active_guard()
    if guard is not None:
        guard.watch_env(environment, "gunicorn server")
    server = None
    try:
        server = start_server(
            environment,
            tmp_path,
            workers=workers,
            threads=threads,
            port=port,
            startup_timeout=startup_timeout,
        )
        yield server
    except BaseException:
        if server is not None:
            sys.stderr.write(f"--- gunicorn log ({server.log_path}) ---\n{server.log()[-5000:]}\n")
        raise
    finally:
        if server is not None:
            server.stop()
            check_log_for_secrets(server)


def check_log_for_secrets(server: Server) -> None:
    """Fail when the server's log shows one of its secrets; names, never values."""
    text = server.log()
    candidates = [
        (name, server.env.get(name, ""))
        for name in ("CRONOFY_SCHEDULER_EMBED_SECRET", "SECRET_KEY")
    ]
    candidates += [
        (f"CRONOFY_CLIENT_SECRET[{index}]", value)
        for index, value in enumerate(server.env.get("CRONOFY_CLIENT_SECRET", "").split(","))
    ]
    leaked = [
        name
        for name, value in candidates
        if len(value.strip()) >= leakguard.MIN_SECRET_LENGTH and value.strip() in text
    ]
    if leaked:
        raise AssertionError(f"gunicorn log {server.log_path} shows {', '.join(leaked)}")


def wait_until_healthy(
    server: Server, timeout: float, workers: int = 0, applier: bool = False
) -> None:
    """Until /healthz answers 200, (when `workers` is given) that many workers run and (with
    `applier`) the applier process answers its doorbell, having applied what was pending."""
    bell = doorbell.address(database_key(make_url(server.database_url))) if applier else ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"gunicorn ({server.name}) exited with {server.process.returncode}:\n"
                + server.log()[-3000:]
            )
        try:
            answer = httpx.get(server.base_url + "/healthz", timeout=2)
            if (
                answer.status_code == 200
                and len(worker_pids(server.process.pid)) >= workers
                and (not applier or doorbell.ring(bell))
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(
        f"gunicorn ({server.name}) not healthy within {timeout} s:\n{server.log()[-3000:]}"
    )


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's children forked from it (the same command line;
    the applier process, started with exec, has its own), found through /proc."""
    command = _command_line(master)
    return [pid for pid in child_pids(master) if _command_line(pid) == command]


def applier_pids(master: int) -> list[int]:
    """The applier process gunicorn.conf.py starts beside the workers (one, or none)."""
    return [pid for pid in child_pids(master) if b"run-applier" in _command_line(pid)]


def child_pids(master: int) -> list[int]:
    """Every child process of `master`, found through /proc."""
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
        if int(fields[1]) == master:
            pids.append(int(entry))
    return sorted(pids)


def _command_line(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


T = TypeVar("T")


def eventually(read: Callable[[], T], timeout: float = 20.0) -> T:
    """`read()` again every 0.1 s until it gives something truthy or `timeout` runs out;
    its last answer (for what another process or thread does in its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
