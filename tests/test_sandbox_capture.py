"""A tiny real HTTP receiver for the sandbox tests, plus a check of the check itself.

It runs http.server in a thread on 127.0.0.1, verifies Cronofy-HMAC-SHA256 against the
secrets it is given, answers with scripted statuses, and records every request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from webapp.webhooks.signatures import HEADER, is_authentic, sign


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: bytes
    authentic: bool

    def json(self) -> dict:
        return json.loads(self.body)


class CaptureServer:
    """Answers each POST with the next scripted status (then 200); 401 if not authentic."""

    def __init__(self, secrets: list[str], statuses: list[int] | None = None) -> None:
        self.secrets = secrets
        self.statuses = list(statuses or [])
        self.requests: list[Captured] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                authentic = is_authentic(body, self.headers.get(HEADER), capture.secrets)
                with capture.arrived:
                    capture.requests.append(
                        Captured(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            authentic,
                        )
                    )
                    if not authentic:
                        status = 401
                    else:
                        status = capture.statuses.pop(0) if capture.statuses else 200
                    capture.arrived.notify_all()
                answer = json.dumps({"status": "captured" if status < 300 else "no"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/cronofy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CaptureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Captured]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)


def test_capture_server_checks_the_signature():
    with CaptureServer(["CRN_one"], statuses=[500]) as capture:
        body = b'{"example":"well-known"}'
        first = httpx.post(capture.url, content=body, headers={HEADER: sign(body, "CRN_one")})
        second = httpx.post(capture.url, content=body, headers={HEADER: sign(body, "CRN_two")})
        third = httpx.post(capture.url, content=body, headers={HEADER: sign(body, "CRN_one")})
    assert [first.status_code, second.status_code, third.status_code] == [500, 401, 200]
    assert [request.authentic for request in capture.requests] == [True, False, True]
