"""The baselines the app is measured against, served with the same gunicorn settings.

`app` is a bare Flask app with no database, no sessions and no extensions:
- `GET /l/<slug>` answers a 302 built once from BENCH_BARE_302 (JSON: the status, the
  headers and the body of a real redirect sampled from the app), so both sides send
  responses of the same size and only the work behind them differs;
- `POST /webhooks/cronofy` reads the body and answers 204;
- `GET /healthz` answers 200, so the server helper can wait for it like for the app.

`create_same_work_app()` does the redirect's work on bare Flask, the honest limit of this
stack: a raw sqlite3 lookup of the slug (the app's join, on one connection per thread), a
claim token from PyJWT, the visit buffered in memory and written by a thread every 0.1 s in
one executemany transaction, and `flask.redirect()` with the app's other headers (from
BENCH_BARE_302). No ORM, no Flask extensions, no bot detection, no error pages.

`python -m benchmarks.bare_app --raw PORT` serves the same constant 302 from a bare asyncio
protocol instead (no Flask, no gunicorn): the load generator's ceiling on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import jwt
from flask import Flask, Response, redirect, request

DEFAULT_302 = {
    "status": 302,
    "headers": [
        ["Content-Type", "text/html; charset=utf-8"],
        ["Location", "https://app.cronofy.com/pls/Q5-ZDPM8?claim_token=x"],
    ],
    "body": "",
}


def _constant_302() -> dict:
    return json.loads(os.environ.get("BENCH_BARE_302") or json.dumps(DEFAULT_302))


def create_app() -> Flask:
    spec = _constant_302()
    status = int(spec["status"])
    headers = [(str(name), str(value)) for name, value in spec["headers"]]
    body = str(spec["body"]).encode("utf-8")
    app = Flask(__name__)

    @app.get("/l/<slug>")
    def redirect(slug: str) -> Response:
        return Response(body, status=status, headers=headers)

    @app.post("/webhooks/cronofy")
    def receiver() -> tuple[str, int]:
        request.get_data()
        return "", 204

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()

# The columns the app's lookup reads (webapp/tracking/lookup.py).
SAME_WORK_LOOKUP = """
    SELECT tracked_links.id, tracked_links.correlation_id, tracked_links.utm_source,
           tracked_links.utm_medium, tracked_links.utm_campaign, tracked_links.utm_term,
           tracked_links.utm_content, tracked_links.expires_at, tracked_links.disabled_at,
           tracked_links.allow_repeat_bookings, tracked_links.booking_view_url,
           public_links.url, public_links.active
    FROM tracked_links JOIN public_links ON public_links.id = tracked_links.public_link_id
    WHERE tracked_links.slug = ?
"""
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
SAME_WORK_INSERT = (
    "INSERT INTO visits (tracked_link_id, at, jti, agent_class, outcome) "
    "VALUES (?, ?, ?, 'human', 'redirect')"
)
FLUSH_INTERVAL = 0.1
TOKEN_LIFETIME = 4 * 60 * 60


def create_same_work_app() -> Flask:
    """The redirect on bare Flask (see the module docstring); reads the app's environment."""
    database = urlsplit(os.environ["DATABASE_URL"]).path  # sqlite:////absolute/path
    public_key = os.environ["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"]
    secret = os.environ["CRONOFY_SCHEDULER_EMBED_SECRET"]
    sampled = _constant_302()["headers"]
    other_headers = [
        (str(name), str(value))
        for name, value in sampled
        if name.lower() not in {"location", "content-type", "content-length"}
    ]
    readers = threading.local()
    visits = _VisitBuffer(database)
    app = Flask(__name__)

    def reader() -> sqlite3.Connection:
        connection = getattr(readers, "connection", None)
        if connection is None:
            connection = readers.connection = _connect(database)
        return connection

    @app.get("/l/<slug>")
    def follow(slug: str) -> Response | tuple[str, int]:
        row = reader().execute(SAME_WORK_LOOKUP, (slug,)).fetchone()
        if row is None or row[8] is not None or not row[12]:  # unknown, disabled, inactive
            return "not found", 404
        link_id, correlation_id, url = row[0], row[1], row[11]
        now = int(time.time())
        jti = str(uuid.uuid4())
        claims = {"iss": public_key, "iat": now - 45, "exp": now - 45 + TOKEN_LIFETIME}
        token = jwt.encode({**claims, "aud": "public_link", "jti": jti}, secret, "HS256")
        params = [("correlation_id", correlation_id), *zip(UTM_KEYS, row[2:7], strict=True)]
        query = "&".join(f"{key}={quote(value, safe='')}" for key, value in params if value)
        separator = "&" if "?" in url else "?"
        visits.add((link_id, datetime.now(UTC).isoformat(" "), jti))
        response = redirect(f"{url}{separator}claim_token={token}&{query}")
        response.headers.extend(other_headers)
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _connect(database: str) -> sqlite3.Connection:
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA busy_timeout=30000")
    return connection


class _VisitBuffer:
    """Visits held in memory; a thread of this process writes them in batches."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.pending: deque[tuple[int, str, str]] = deque()
        self.pid: int | None = None
        self.lock = threading.Lock()

    def add(self, visit: tuple[int, str, str]) -> None:
        if self.pid != os.getpid():  # first visit in this (forked) worker
            with self.lock:
                if self.pid != os.getpid():
                    self.pid = os.getpid()
                    threading.Thread(target=self._run, daemon=True).start()
        self.pending.append(visit)

    def _run(self) -> None:
        connection = _connect(self.database)
        while True:
            time.sleep(FLUSH_INTERVAL)
            batch = [self.pending.popleft() for _ in range(len(self.pending))]
            if batch:
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(SAME_WORK_INSERT, batch)
                connection.execute("COMMIT")


def raw_response() -> bytes:
    """The constant 302 as raw HTTP/1.1 bytes, for the asyncio ceiling server."""
    spec = _constant_302()
    body = str(spec["body"]).encode("utf-8")
    lines = [f"HTTP/1.1 {int(spec['status'])} FOUND", "Server: raw", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in spec["headers"]]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _RawServer(asyncio.Protocol):
    """Answers every request (GET without a body) on the connection with the constant."""

    response = raw_response()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4 :]
            self.transport.write(self.response)  # type: ignore[attr-defined]


async def serve_raw(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_RawServer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="the asyncio ceiling server")
    parser.add_argument("--raw", type=int, required=True, metavar="PORT")
    args = parser.parse_args()
    asyncio.run(serve_raw(args.raw))


if __name__ == "__main__":
    main()
