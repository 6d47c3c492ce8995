"""The receiver under the real server (gunicorn, several workers and threads, one SQLite file):
concurrent deliveries, chunked bodies over the limit, and the settings page's test button.

The server's database is read back through a second app pointed at the same database.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tests.support import factories
from tests.support.config import TEST_DATABASE_URL
from tests.support.deliveries import RECEIVER, signed_headers, store_unapplied
from tests.support.server import running_server, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.models import Delivery, SchedulingRequest
from webapp.webhooks.signatures import HEADER

REQUESTS = 50
NOTIFICATIONS_PER_REQUEST = 3
DUPLICATES = 30


@contextmanager
def own_database() -> Iterator[str | None]:
    """On PostgreSQL, a database of the server's own: the suite's shared one already has
    tables made without migrations, which `flask db upgrade` at server start cannot take."""
    if not TEST_DATABASE_URL:
        yield None
        return
    name = "webapp_receiver_" + secrets.token_hex(4)
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("receiver-server")
    with own_database() as database_url:
        env = server_env(folder, **({"DATABASE_URL": database_url} if database_url else {}))
        with running_server(folder, workers=3, threads=8, env=env) as srv:
            yield srv


def reader_app(database_url: str, folder):
    """An app on the server's own database, for reading what the server stored."""
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(folder / "reader-instance"),
            "SECRET_KEY": "reader",
            "WEBAPP_SANDBOX": False,
            "SQLALCHEMY_DATABASE_URI": database_url,
        }
    )


@pytest.fixture
def server_db(server, tmp_path):
    app = reader_app(server.database_url, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


def body_for(srq_id: str, step: int) -> bytes:
    document = {
        "notification": {
            "type": f"scheduling_request_step_{step}",
            "triggered_at": f"2025-01-19T16:14:{10 + step:02d}Z",
        },
        "scheduling_request": {
            "scheduling_request_id": srq_id,
            "summary": f"Load test {srq_id}",
            "recipients": [{"email": f"{srq_id}@example.com", "display_name": srq_id}],
            "event": {"metadata": {"scheduler": {"correlation_id": f"corr-{srq_id}"}}},
        },
    }
    return json.dumps(document).encode()


def wait_until_settled(app, pattern: str, count: int, timeout: float = 30.0) -> None:
    """Wait until `count` deliveries like `pattern` are applied or stale."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            settled = db.session.execute(
                db.select(db.func.count(Delivery.id)).where(
                    Delivery.scheduling_request_id.like(pattern),
                    Delivery.status.in_(("applied", "stale")),
                )
            ).scalar_one()
            db.session.remove()
        if settled >= count:
            return
        assert time.monotonic() < deadline, f"{settled} of {count} applied in {timeout} s"
        time.sleep(0.1)


def test_concurrent_deliveries_into_several_workers(server, server_db):
    run = secrets.token_hex(4)
    bodies = [
        body_for(f"srq_{run}_{index}", step)
        for index in range(REQUESTS)
        for step in range(NOTIFICATIONS_PER_REQUEST)
    ]
    posts = bodies + random.sample(bodies, DUPLICATES)
    random.shuffle(posts)  # out of order on purpose: later steps often arrive first
    url = server.base_url + RECEIVER

    def deliver(body: bytes) -> tuple[int, str]:
        response = httpx.post(
            url, content=body, headers=signed_headers(body, server.client_secret), timeout=30
        )
        return response.status_code, response.json().get("status", response.text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(deliver, posts))

    assert {code for code, _ in answers} == {200}, Counter(answers)
    outcomes = Counter(status for _, status in answers)
    assert outcomes["duplicate"] == DUPLICATES
    assert outcomes["stored"] == len(bodies)
    # Acknowledged means stored; the workers' appliers apply them right after.
    wait_until_settled(server_db, f"srq_{run}_%", len(bodies))
    assert "database is locked" not in server.log()
    assert "Traceback" not in server.log()

    with server_db.app_context():
        stored = list(
            db.session.execute(
                db.select(Delivery).where(Delivery.scheduling_request_id.like(f"srq_{run}_%"))
            ).scalars()
        )
        assert len(stored) == len(bodies)
        assert {d.status for d in stored} <= {"applied", "stale"}
        rows = list(
            db.session.execute(
                db.select(SchedulingRequest).where(
                    SchedulingRequest.scheduling_request_id.like(f"srq_{run}_%")
                )
            ).scalars()
        )
        assert len(rows) == REQUESTS
        for row in rows:
            assert row.notification_count == NOTIFICATIONS_PER_REQUEST
            # Whatever the arrival order, the newest triggered_at wins.
            assert row.status == f"step_{NOTIFICATIONS_PER_REQUEST - 1}"
            assert row.correlation_id == "corr-" + row.scheduling_request_id


def test_chunked_body_over_the_limit_is_413(server):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    body_start = b'{"padding":"'
    response = httpx.post(
        server.base_url + "/webhooks/cronofy",
        content=(part for part in [body_start, *chunks()]),
        headers={HEADER: "anything"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_settings_button_sends_a_signed_sample_to_the_running_server(server, server_db):
    email = f"admin-{secrets.token_hex(3)}@example.com"
    with server_db.app_context():
        factories.make_user(email=email, role="admin", name="Server Admin")
    with httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=True) as browser:
        login_page = browser.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
        signed_in = browser.post(
            "/login",
            data={"email": email, "password": factories.PASSWORD, "csrf_token": token},
        )
        assert signed_in.status_code == 200, signed_in.text[:500]
        settings = browser.get("/settings")
        assert settings.status_code == 200
        assert server.base_url + "/webhooks/cronofy" in settings.text
        assert server.client_secret not in settings.text
        assert server.env["CRONOFY_SCHEDULER_EMBED_SECRET"] not in settings.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', settings.text).group(1)
        page = browser.post("/settings/test-notification", data={"csrf_token": token}).text
    assert "Test notification delivered" in page, page[:3000]
    assert "HTTP 200" in page
    # The status and the timing, never the answer's body.
    assert re.search(r"HTTP 200 in \d+ ms\. It shows as scheduling request", page)
    assert "&#34;stored&#34;" not in page
    srq_id = re.search(r"scheduling request (srq_test_[0-9a-f]+)", page).group(1)
    wait_until_settled(server_db, srq_id, 1)
    with server_db.app_context():
        delivery = db.session.execute(
            db.select(Delivery).where(Delivery.scheduling_request_id == srq_id)
        ).scalar_one()
        assert delivery.status == "applied"
        row = db.session.execute(
            db.select(SchedulingRequest).where(SchedulingRequest.scheduling_request_id == srq_id)
        ).scalar_one()
        assert row.status == "time_chosen"
        assert row.correlation_id.startswith("test-")


def test_a_delivery_left_pending_is_applied_when_the_server_starts(tmp_path):
    with own_database() as database_url:
        env = server_env(tmp_path, **({"DATABASE_URL": database_url} if database_url else {}))
        with running_server(tmp_path, workers=1, threads=4, env=env) as first:
            pass  # the first start builds the schema
        reader = reader_app(first.database_url, tmp_path)
        # As if the server died between storing and applying.
        store_unapplied(reader, body_for("srq_after_crash", 0))
        with reader.app_context():
            assert db.session.execute(db.select(Delivery.status)).scalar_one() == "pending"
            db.engine.dispose()
        with running_server(tmp_path, workers=1, threads=4, env=env) as second:
            assert "applied 1 delivery(ies) left pending" in second.log()
        with reader.app_context():
            assert db.session.execute(db.select(Delivery.status)).scalar_one() == "applied"
            row = db.session.execute(db.select(SchedulingRequest)).scalar_one()
            assert row.scheduling_request_id == "srq_after_crash"
            db.engine.dispose()
