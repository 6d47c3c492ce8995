"""The Host header never chooses where the server sends a request or what URL it hands out.

Issue: with a forged Host an invitee made the sandbox POST a signed notification to an
address of their choosing, and an admin's "Send a test notification" could be aimed at any
host:port. Absolute URLs now come from PUBLIC_BASE_URL or, without it, from the address the
server listens on (SERVER_NAME/SERVER_PORT, which gunicorn and Werkzeug fill from the
listening socket); a Host outside TRUSTED_HOSTS is refused with 400.

In the test client the "listening address" is its base_url (SERVER_NAME/SERVER_PORT), and a
`Host` header is the client's own choice, exactly as on a real server.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time

import httpx
import pytest
from werkzeug.serving import make_server

from tests.support import factories
from tests.support.capture import CaptureServer
from tests.support.sandbox import booking_url, hidden, mint, outbox_rows, slot_keys
from tests.support.server import running_server, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.models import OutboxMessage, SchedulingRequest, utcnow
from webapp.tracking.tokens import mint_claim_token
from webapp.urls import listening_origin

EVIL = "evil.example"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}


def book_with_host(app, host: str, **client_options) -> None:  # type: ignore[no-untyped-def]
    """An invitee opens a booking page and books, every request carrying `host`."""
    client = app.test_client()
    headers = {"Host": host, **BROWSER}
    token, _jti = mint(app)
    page = client.get(booking_url(token), headers=headers, **client_options)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    text = page.get_data(as_text=True)
    answer = client.post(
        "/sandbox/pls/demo",
        data={
            "jti": hidden(text, "jti"),
            "slot": slot_keys(text)[0],
            "name": "Mallory",
            "email": "mallory@example.com",
        },
        headers=headers,
        **client_options,
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]


def urls_in(payload: dict) -> list[str]:
    request = payload["scheduling_request"]
    operations = request["recipient_operations"]
    return [
        request["primary_select_url"],
        request["dashboard_url"],
        operations["view_url"],
        operations["reschedule_url"],
        operations["decline_url"],
        *(recipient["select_url"] for recipient in request["recipients"]),
    ]


# -- Unknown hosts are refused --------------------------------------------------------------


@pytest.mark.parametrize("host", [EVIL, f"{EVIL}:443", "app.cronofy.com", "localhost.evil.example"])
def test_an_unknown_host_gets_400_everywhere(app, host):
    client = app.test_client()
    for path in ("/healthz", "/login", "/l/whatever", "/sandbox/pls/demo"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, path
        assert "TRUSTED_HOSTS" in response.get_data(as_text=True)
    for path in ("/api/v1/public-links", "/webhooks/cronofy"):
        response = client.post(path, headers={"Host": host}, data=b"{}")
        assert response.status_code == 400, path
        assert response.get_json()["error"]["code"] == "untrusted_host"


@pytest.mark.parametrize("host", ["localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:8000"])
def test_the_loopback_names_are_trusted_in_development(app, host):
    assert app.config["PUBLIC_BASE_URL"] is None
    assert app.test_client().get("/healthz", headers={"Host": host}).status_code == 200


def test_with_public_base_url_only_its_host_is_trusted(app_factory):
    app = app_factory(PUBLIC_BASE_URL="https://links.example.com")
    assert app.config["TRUSTED_HOSTS"] == ["links.example.com"]
    client = app.test_client()
    assert client.get("/healthz", base_url="https://links.example.com").status_code == 200
    assert client.get("/healthz").status_code == 400  # Host: localhost
    assert client.get("/healthz", headers={"Host": EVIL}).status_code == 400


def test_trusted_hosts_may_list_names_and_domains(app_factory):
    app = app_factory(TRUSTED_HOSTS="links.example.com, .corp.example")
    client = app.test_client()
    for host in ("links.example.com", "corp.example", "eu.corp.example:8443"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    for host in ("localhost", "corp.example.evil.example", EVIL):
        assert client.get("/healthz", headers={"Host": host}).status_code == 400, host


# -- Forged Host headers do not move server-side targets ------------------------------------


@pytest.mark.parametrize(
    ("trusted", "host"),
    [(None, "127.0.0.1:9"), (None, "localhost:2525"), ("*", EVIL), ("*", "10.0.0.1:6379")],
)
def test_a_forged_host_does_not_move_the_sandbox_notification(app_factory, trusted, host):
    # No SANDBOX_RECEIVER_URL: the sandbox posts to the app's own receiver.
    app = app_factory(WEBAPP_SANDBOX=True, TRUSTED_HOSTS=trusted)
    book_with_host(app, host)
    [row] = outbox_rows(app)
    assert row.target == "http://localhost/webhooks/cronofy"
    for url in urls_in(json.loads(row.body)):
        assert url.startswith("http://localhost/sandbox/"), url


def test_a_forged_forwarded_host_does_not_move_it_either(app_factory):
    # Behind a trusted proxy ProxyFix rewrites SERVER_NAME from X-Forwarded-Host; the
    # socket's own address (kept by ProxyFix) is what the sandbox uses.
    app = app_factory(WEBAPP_SANDBOX=True, TRUSTED_PROXIES=1, TRUSTED_HOSTS="*")
    client = app.test_client()
    forged = {"X-Forwarded-Host": f"{EVIL}:8443", "X-Forwarded-Port": "8443", **BROWSER}
    token, _ = mint(app)
    text = client.get(booking_url(token), headers=forged).get_data(as_text=True)
    client.post(
        "/sandbox/pls/demo",
        data={
            "jti": hidden(text, "jti"),
            "slot": slot_keys(text)[0],
            "name": "M",
            "email": "m@example.com",
        },
        headers=forged,
    )
    [row] = outbox_rows(app)
    assert row.target == "http://localhost/webhooks/cronofy"
    assert EVIL not in row.body.decode()


def test_a_forged_host_does_not_aim_the_settings_test_notification(app_factory, admin):
    app = app_factory()
    with CaptureServer(app.config["CLIENT_SECRETS"]) as own, CaptureServer([]) as trap:
        # The app "listens" where `own` does; the admin's request names the trap's port.
        listening = own.url.removesuffix("/webhooks/cronofy")
        trap_host = trap.url.removeprefix("http://").removesuffix("/webhooks/cronofy")
        client = app.test_client()
        login = client.post(
            "/login",
            data={"email": admin.email, "password": factories.PASSWORD},
            base_url=listening,
        )
        assert login.status_code == 302
        # Redirects are not followed: the test client would rebuild the next request's
        # listening address from the Host header, which no real server does.
        forged = {"base_url": listening, "headers": {"Host": trap_host}}
        sent = client.post("/settings/test-notification", **forged)
        assert sent.status_code == 302
        page = client.get("/settings", **forged).get_data(as_text=True)
        assert trap.requests == []
        [received] = own.wait_for(1)
        assert received.authentic
    assert f"{listening}/webhooks/cronofy" in page
    assert trap_host not in page


@pytest.mark.parametrize("headers", [{"Host": EVIL}, {"X-Forwarded-Host": EVIL}])
def test_short_urls_shown_and_listed_ignore_the_host(app_factory, staff, headers):
    app = app_factory(TRUSTED_HOSTS="*", TRUSTED_PROXIES=1)
    with app.app_context():
        public_link = factories.make_public_link(owner_id=staff.id)
        link = factories.make_tracked_link(public_link.id, created_by_id=staff.id)
        slug, link_id = link.slug, link.id
    client = app.test_client()  # its cookies follow the Host, so sign in with the same one
    login = {"email": staff.email, "password": factories.PASSWORD}
    assert client.post("/login", data=login, headers=headers).status_code == 302
    page = client.get(f"/links/{link_id}", headers=headers).get_data(as_text=True)
    assert f"http://localhost/l/{slug}" in page
    listing = client.get("/links", headers=headers).get_data(as_text=True)
    assert f"http://localhost/l/{slug}" in listing
    assert EVIL not in page and EVIL not in listing


# -- Real servers: SERVER_NAME/SERVER_PORT come from the listening socket --------------------


def test_werkzeug_server_uses_its_listening_address_not_the_host(app_factory):
    app = app_factory(WEBAPP_SANDBOX=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as invitee:
            headers = {"Host": "localhost:9", **BROWSER}
            token, _ = mint(app)
            page = invitee.get(booking_url(token), headers=headers)
            assert page.status_code == 200, page.text[:300]
            answer = invitee.post(
                "/sandbox/pls/demo",
                data={
                    "csrf_token": "",
                    "jti": hidden(page.text, "jti"),
                    "slot": slot_keys(page.text)[0],
                    "name": "Mallory",
                    "email": "mallory@example.com",
                },
                headers=headers,
            )
            assert answer.status_code == 303, answer.text[:300]
    finally:
        server.shutdown()
        thread.join(10)
    with app.app_context():
        [url] = db.session.scalars(db.select(OutboxMessage.target)).all()
    assert url == f"http://127.0.0.1:{port}/webhooks/cronofy"


@pytest.mark.timeout(180)
def test_gunicorn_sandbox_posts_to_its_own_address_whatever_the_host(tmp_path):
    env = server_env(tmp_path, WEBAPP_SANDBOX="1")
    with CaptureServer([]) as trap, running_server(tmp_path, env=env, workers=1) as server:
        trap_host = trap.url.removeprefix("http://").removesuffix("/webhooks/cronofy")
        token = mint_claim_token(
            embed_public_key=env["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
            embed_secret=env["CRONOFY_SCHEDULER_EMBED_SECRET"],
            now=utcnow(),
            lifetime_seconds=600,
        ).token
        correlation_id = "corr-host-" + secrets.token_hex(3)
        headers = {"Host": trap_host, **BROWSER}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as invitee:
            page = invitee.get(
                f"/sandbox/pls/demo?claim_token={token}&correlation_id={correlation_id}"
            )
            assert page.status_code == 200, page.text[:500]
            answer = invitee.post(
                "/sandbox/pls/demo",
                data={
                    "csrf_token": hidden(page.text, "csrf_token"),
                    "jti": hidden(page.text, "jti"),
                    "slot": slot_keys(page.text)[0],
                    "name": "Mallory",
                    "email": "mallory@example.com",
                },
            )
            assert answer.status_code == 303, answer.text[:500]
        reader = create_app(
            {
                "TESTING": True,
                "INSTANCE_PATH": str(tmp_path / "reader-instance"),
                "DATABASE_URL": server.database_url,
                "SECRET_KEY": secrets.token_hex(16),
                "WEBAPP_SANDBOX": False,
            }
        )
        deadline = time.monotonic() + 30
        with reader.app_context():
            while time.monotonic() < deadline:
                row = db.session.scalar(db.select(OutboxMessage))
                db.session.commit()
                if row is not None and row.delivered_at is not None:
                    break
                time.sleep(0.1)
            assert row is not None and row.delivered_at is not None, server.log()[-3000:]
            assert row.target == f"{server.base_url}/webhooks/cronofy"
            # The receiver acknowledges once the delivery is stored; its applier builds the
            # Scheduling Request right after (docs/architecture.md), so wait for that too.
            query = db.select(SchedulingRequest).where(
                SchedulingRequest.correlation_id == correlation_id
            )
            while (stored := db.session.scalar(query)) is None and time.monotonic() < deadline:
                db.session.commit()
                time.sleep(0.1)
            assert stored is not None, server.log()[-3000:]  # the app's own receiver got it
            view_url = stored.recipient_operations["view_url"]
            assert view_url.startswith(f"{server.base_url}/sandbox/bookings/")
            db.engine.dispose()
        assert trap.requests == []


def tcp_socket() -> socket.socket:
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


@pytest.mark.parametrize(
    ("environ", "origin"),
    [
        ({"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000"}, "http://127.0.0.1:5000"),
        ({"SERVER_NAME": "0.0.0.0", "SERVER_PORT": "8000"}, "http://127.0.0.1:8000"),
        ({"SERVER_NAME": "::", "SERVER_PORT": "8000"}, "http://[::1]:8000"),
        ({"SERVER_NAME": "::1", "SERVER_PORT": "8000"}, "http://[::1]:8000"),
        ({"SERVER_NAME": "Links.Internal", "SERVER_PORT": "80"}, "http://links.internal"),
        (
            {"SERVER_NAME": "10.0.0.5", "SERVER_PORT": "443", "wsgi.url_scheme": "https"},
            "https://10.0.0.5",
        ),
        # ProxyFix rewrote SERVER_* from X-Forwarded-*; the socket's own values win.
        (
            {
                "SERVER_NAME": EVIL,
                "SERVER_PORT": "443",
                "wsgi.url_scheme": "https",
                "werkzeug.proxy_fix.orig": {
                    "SERVER_NAME": "127.0.0.1",
                    "SERVER_PORT": "8000",
                    "wsgi.url_scheme": "http",
                },
            },
            "http://127.0.0.1:8000",
        ),
        # Not an address: the fixed fallback, never a value a client could have chosen.
        ({"SERVER_NAME": "evil.example/x", "SERVER_PORT": "80"}, "http://localhost"),
        ({"SERVER_NAME": "127.0.0.1", "SERVER_PORT": "99999"}, "http://localhost"),
        ({}, "http://localhost"),
    ],
)
def test_the_listening_origin_comes_from_the_socket(environ, origin):
    assert listening_origin({"wsgi.url_scheme": "http", **environ}) == origin


def test_gunicorn_on_a_unix_socket_has_no_listening_origin():
    # gunicorn fills SERVER_NAME from the Host header on a Unix socket.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        environ = {"SERVER_NAME": EVIL, "SERVER_PORT": "25", "gunicorn.socket": unix}
        assert listening_origin(environ) == "http://localhost"


def test_gunicorn_scheme_comes_from_the_socket_not_x_forwarded_proto():
    # gunicorn turns X-Forwarded-Proto from forwarded_allow_ips into wsgi.url_scheme.
    with tcp_socket() as plain:
        environ = {
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "wsgi.url_scheme": "https",
            "gunicorn.socket": plain,
        }
        assert listening_origin(environ) == "http://127.0.0.1:8000"
