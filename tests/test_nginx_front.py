"""The shipped production front, deploy/nginx.conf, run by Debian's nginx in front of a real
gunicorn (issue 9 §1): TLS, the redirect to https, the headers the app trusts with
TRUSTED_PROXIES=1, the 1 MiB limit, whole deliveries only, and unbuffered live streams.
(Slow clients: tests/reliability/test_slow_clients.py.)"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.reliability.workload import Scale, build_workload, signed_headers
from tests.support import factories, nginx
from tests.support.config import make_test_config
from tests.support.server import Server, running_server, server_env
from tests.support.signin import sign_in_http
from webapp import create_app
from webapp.config import DEFAULTS
from webapp.extensions import db

# What gunicorn received from the proxy, one line per request in its log.
ACCESS_FORMAT = (
    "front|%({x-forwarded-for}i)s|%({x-forwarded-proto}i)s|%({x-forwarded-host}i)s"
    "|%({x-forwarded-prefix}i)s|%({x-forwarded-port}i)s|%(m)s|%(U)s|%(q)s|%(s)s|%(L)s"
)
MIB = 1024 * 1024


@dataclass
class Stack:
    server: Server
    front: nginx.Front
    email: str

    def client(self, **options) -> httpx.Client:  # type: ignore[no-untyped-def]
        return httpx.Client(base_url=self.front.https_url, verify=self.front.trust, **options)

    def get(self, path: str, **options) -> httpx.Response:  # type: ignore[no-untyped-def]
        with self.client() as client:
            return client.get(path, **with_host(options))

    def access_line(self, marker: str, timeout: float = 5.0) -> list[str]:
        """gunicorn's access log fields for the request whose query string has marker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.server.log().splitlines():
                if line.startswith("front|") and marker in line:
                    return line.split("|")
            time.sleep(0.1)
        raise AssertionError(f"no access log line with {marker!r}")


def with_host(options: dict) -> dict:
    headers = {"Host": nginx.HOST, **options.pop("headers", {})}
    extensions = {"sni_hostname": nginx.HOST, **options.pop("extensions", {})}
    return {"headers": headers, "extensions": extensions, **options}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("front")
    database_url = f"sqlite:///{folder / 'front.sqlite3'}"  # the proxy is the subject here
    env = server_env(
        folder,
        DATABASE_URL=database_url,
        **nginx.SERVER_SETTINGS,
        GUNICORN_ACCESS_LOG="-",
        GUNICORN_CMD_ARGS=f"--access-logformat={ACCESS_FORMAT}",
    )
    with running_server(folder, workers=1, threads=8, env=env) as server:
        reader = create_app(
            make_test_config(folder / "reader", SQLALCHEMY_DATABASE_URI=database_url)
        )
        with reader.app_context():
            email = factories.make_user(email="front@example.com").email
            db.engine.dispose()
        with nginx.running_front(folder, int(server.base_url.rsplit(":", 1)[1])) as front:
            yield Stack(server, front, email)


def test_https_reaches_the_app_with_only_the_proxys_forwarded_headers(stack):
    forged = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Prefix": "/evil",
        "X-Forwarded-Port": "8443",
    }
    response = stack.get("/healthz?probe=forwarded", headers=forged)
    assert response.status_code == 200 and response.json()["status"] == "ok"
    fields = stack.access_line("probe=forwarded")
    # address, scheme and host as nginx saw them; no prefix or port for a client to forge
    assert fields[1:6] == ["127.0.0.1", "https", nginx.HOST, "-", "-"]
    assert "server" not in response.headers or "nginx/" not in response.headers["server"]


def test_plain_http_redirects_to_https(stack):
    response = httpx.get(
        f"{stack.front.http_url}/links?page=2", headers={"Host": nginx.HOST}, timeout=5
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{nginx.HOST}/links?page=2"


def test_other_host_names_get_no_answer(stack):
    with pytest.raises(httpx.RemoteProtocolError):  # port 80: the connection is just closed
        httpx.get(f"{stack.front.http_url}/healthz", headers={"Host": "evil.example"}, timeout=5)
    with (
        stack.client(timeout=5) as client,
        pytest.raises(httpx.ConnectError, match="UNRECOGNIZED_NAME"),  # 443: no handshake
    ):
        client.get("/healthz", extensions={"sni_hostname": "evil.example"})


def test_the_size_limit_is_the_apps_and_its_refusal_keeps_the_json_shape(stack):
    with stack.client(timeout=10) as client:
        allowed = client.post("/webhooks/cronofy?probe=limit", content=b" " * MIB, **with_host({}))
        over = client.post("/webhooks/cronofy", content=b" " * (MIB + 1), **with_host({}))
        api = client.post("/api/v1/public-links", content=b" " * (MIB + 1), **with_host({}))
    assert allowed.status_code == 401  # through to the app, which checks the signature
    assert stack.access_line("probe=limit")[7:10] == ["/webhooks/cronofy", "probe=limit", "401"]
    for refused in (over, api):
        assert refused.status_code == 413
        assert refused.json()["error"]["code"] == "payload_too_large"


def trickled_post(port: int, body: bytes, secret: str, tls: ssl.SSLContext | None) -> int:
    """A signed delivery sent in two halves 1.5 s apart, on a raw connection; its status."""
    headers = {**signed_headers(body, secret), "Host": nginx.HOST, "Connection": "close"}
    head = f"POST /webhooks/cronofy?probe=trickle-{port} HTTP/1.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn = tls.wrap_socket(raw, server_hostname=nginx.HOST) if tls else raw
    with conn:
        conn.sendall(head.encode() + body[: len(body) // 2])
        time.sleep(1.5)
        conn.sendall(body[len(body) // 2 :])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def test_gunicorn_sees_a_delivery_only_once_it_has_fully_arrived(stack):
    bodies = build_workload(Scale(deliveries=2, requests=2, duplicate_share=0.0), "trickle").posts
    gunicorn_port = int(stack.server.base_url.rsplit(":", 1)[1])
    secret = stack.server.client_secret
    assert trickled_post(stack.front.https_port, bodies[0], secret, stack.front.trust) == 200
    assert trickled_post(gunicorn_port, bodies[1], secret, None) == 200
    behind_proxy = float(stack.access_line(f"trickle-{stack.front.https_port}")[10])
    direct = float(stack.access_line(f"trickle-{gunicorn_port}")[10])
    # Straight at gunicorn the thread waited for the second half; behind nginx it did not.
    assert direct >= 1.4, direct
    assert behind_proxy < 0.5, behind_proxy


def sign_in(client: httpx.Client, email: str) -> None:
    # Flask-WTF checks the Referer of an https form post, as a browser sends it.
    referer = {"Referer": f"{nginx.PUBLIC_BASE_URL}/login"}
    sign_in_http(client, email, **with_host({"headers": referer}))


def test_live_stream_events_pass_the_proxy_at_once(stack):
    body = build_workload(Scale(deliveries=1, requests=1, duplicate_share=0.0), "sse").posts[0]
    wanted = json.loads(body)["scheduling_request"]["scheduling_request_id"]
    with stack.client(timeout=httpx.Timeout(10.0, read=30.0)) as client:
        sign_in(client, stack.email)
        with client.stream("GET", "/live/stream", **with_host({})) as stream:
            assert stream.status_code == 200
            assert "gzip" not in stream.headers.get("content-encoding", "")
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")  # the first bytes are not held back
            posted = time.monotonic()
            delivery = client.post(
                "/webhooks/cronofy",
                content=body,
                **with_host({"headers": signed_headers(body, stack.server.client_secret)}),
            )
            assert delivery.status_code == 200
            for line in lines:
                if line.startswith("data:") and wanted in line:
                    break
                assert time.monotonic() - posted < 10, "the row never came through"
            took = time.monotonic() - posted
    assert took < 3.0, took


def test_the_shipped_limits_match_the_apps():
    text = nginx.SHIPPED.read_text()
    size = re.search(r"client_max_body_size (\d+)m;", text)
    assert size and int(size.group(1)) * MIB == DEFAULTS["MAX_CONTENT_LENGTH"]
    stream = re.search(r"location = /live/stream \{(.*?)\}", text, re.S)
    assert stream, "no location for the live stream"
    assert "proxy_buffering off;" in stream.group(1)
    read_timeout = re.search(r"proxy_read_timeout (\d+)s;", stream.group(1))
    assert read_timeout and int(read_timeout.group(1)) > DEFAULTS["SSE_HEARTBEAT"] * 2
    receiver = re.search(r"location = /webhooks/cronofy \{(.*?)\}", text, re.S)
    assert receiver and "proxy_request_buffering on;" in receiver.group(1)
