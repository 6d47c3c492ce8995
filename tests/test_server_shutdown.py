"""A graceful stop of the real server is not held up by open live streams."""

import signal
import subprocess
import sys
import time

import httpx

from tests.support.factories import PASSWORD
from tests.support.server import ROOT, running_server
from tests.support.signin import sign_in_http


def create_user(server, email: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "create-user", email,
         "--admin", "--password-stdin"],
        input=PASSWORD + "\n", env=server.env, cwd=ROOT, check=True, capture_output=True,
        text=True,
    )  # fmt: skip


def signed_in_client(server, email: str) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=10)
    return sign_in_http(client, email, PASSWORD)


def test_sigterm_ends_open_streams_instead_of_waiting_for_the_graceful_timeout(tmp_path):
    with running_server(tmp_path, workers=1, threads=4) as server:
        create_user(server, "ops@example.com")
        client = signed_in_client(server, "ops@example.com")
        with client.stream("GET", "/live/stream") as stream:
            assert stream.status_code == 200
            assert "ping" in next(stream.iter_text())
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=30)
            stopped_after = time.monotonic() - started
        client.close()
    # gunicorn.conf.py's graceful_timeout is 10 s: a stream that ignored the stop would hold
    # the worker that long.
    assert stopped_after < 5, f"stop took {stopped_after:.1f} s with a stream open"
