"""Issue 9 §3 (last bullet): "Send a test notification" on /settings reports the answer's
status and timing only, never its body, so the page cannot be used to read whatever
answers at an address."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.factories import PASSWORD

MARKER = "INTERNAL-SERVICE-BODY-7f3a"


@contextmanager
def answering(status: int) -> Iterator[str]:
    """A local HTTP server answering every POST with `status` and a recognisable body."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = f"<h1>{MARKER}</h1>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "words"), [(200, "delivered"), (500, "answered HTTP 500")])
def test_the_answer_body_is_never_shown(app_factory, admin, status, words):
    with answering(status) as origin:
        app = app_factory(PUBLIC_BASE_URL=origin)
        client = app.test_client()
        client.post("/login", data={"email": admin.email, "password": PASSWORD})
        page = client.post("/settings/test-notification", follow_redirects=True)
    text = page.get_data(as_text=True)
    assert words in text
    assert f"HTTP {status} in " in text and " ms" in text
    assert MARKER not in text
