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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import leakguard
from tests.support.config import TEST_DATABASE_URL

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


def server_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CRONOFY_")}
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
    """Start gunicorn with gunicorn.conf.py; stop it (and print its log on failure) after."""
    environment = env or server_env(tmp_path)
    port = port or free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
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
        "webapp:create_app()",
    ]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes the workers too
        )
    server = Server(
        base_url=f"http://127.0.0.1:{port}",
        env=environment,
        process=process,
        log_path=log_path,
        database_url=environment["DATABASE_URL"],
    )
    guard = leakguard.active_guard()
    if guard is not None:
        guard.watch_env(environment, f"gunicorn server on port {port}")
    try:
        wait_until_healthy(server, startup_timeout)
        yield server
    except BaseException:
        sys.stderr.write(f"--- gunicorn log ({log_path}) ---\n{server.log()[-5000:]}\n")
        raise
    finally:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                server.kill()
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


def wait_until_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"gunicorn did not become healthy within {timeout} s")
