"""A tiny real HTTP endpoint that records every POST: the stand-in for an outbound webhook
target and, given Cronofy client secrets, for a receiver that checks Cronofy-HMAC-SHA256.

It runs http.server in a thread on 127.0.0.1, answers with scripted statuses (then 200; 401
when secrets are given and the signature does not match), and can hold a request open
without answering (`hang`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from webapp.webhooks.signatures import HEADER, is_authentic


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    authentic: bool = True

    def json(self) -> dict:
        return json.loads(self.body)


class CaptureServer:
    def __init__(
        self,
        secrets: list[str] | None = None,
        statuses: list[int] | None = None,
        *,
        hang: bool = False,
        path: str = "/webhooks/cronofy",
    ) -> None:
        self.secrets = secrets
        self.statuses = list(statuses or [])
        self.hang = threading.Event()
        if hang:
            self.hang.set()
        self.release = threading.Event()
        self.requests: list[Received] = []
        self.arrived = threading.Condition()
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                authentic = capture.secrets is None or is_authentic(
                    body, self.headers.get(HEADER), capture.secrets
                )
                headers = {k.lower(): v for k, v in self.headers.items()}
                with capture.arrived:
                    capture.requests.append(Received(self.path, headers, body, authentic))
                    if not authentic:
                        status = 401
                    else:
                        status = capture.statuses.pop(0) if capture.statuses else 200
                    capture.arrived.notify_all()
                if capture.hang.is_set():
                    capture.release.wait(120)
                    return
                answer = json.dumps({"received": status < 300}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CaptureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)
