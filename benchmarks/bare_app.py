"""The baselines the app is measured against, served with the same gunicorn settings.

`app` is a bare Flask app with no database, no sessions and no extensions:
- `GET /l/<slug>` answers a 302 built once from BENCH_BARE_302 (JSON: the status, the
  headers and the body of a real redirect sampled from the app), so both sides send
  responses of the same size and only the work behind them differs;
- `POST /webhooks/cronofy` reads the body and answers 204;
- `GET /healthz` answers 200, so the server helper can wait for it like for the app.

`python -m benchmarks.bare_app --raw PORT` serves the same constant 302 from a bare asyncio
protocol instead (no Flask, no gunicorn): the load generator's ceiling on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from flask import Flask, Response, request

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
