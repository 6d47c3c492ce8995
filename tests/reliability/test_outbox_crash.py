"""Issue 12: `kill -9` of the whole server with outbound messages committed but not yet
delivered (one in the middle of its send, one not even claimed), a restart on the same
database, and every message arrives (at least once), verified with `standardwebhooks`."""

from __future__ import annotations

import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support import factories
from tests.support.capture import CaptureServer
from tests.support.server import running_server
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import OutboxMessage, User


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_between_commit_and_send_loses_no_message(tmp_path, server_database):
    env = {
        **server_database.env,
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "OUTBOX_CLAIM_SECONDS": "5",  # a dead worker's claim lapses quickly
    }
    reader = server_database.reader
    with reader.app_context():
        admin = factories.make_user(email="admin@example.com", role="admin")
        public = factories.make_public_link(owner_id=admin.id)
        token = issue_token(db.session.get(User, admin.id), "crash")
    headers = {"Authorization": f"Bearer {token}"}

    with CaptureServer(hang=True) as receiver:
        # One worker process, so one outbox thread: while it hangs in the first send, the
        # second message is committed and waits, unclaimed.
        with running_server(tmp_path, workers=1, env=env) as first:
            with httpx.Client(base_url=first.base_url, headers=headers, timeout=10) as api:
                created = api.post("/api/v1/webhook-endpoints", json={"url": receiver.url})
                assert created.status_code == 201, created.text
                secret = created.json()["secret"]
                body = {"public_link_id": public.id, "correlation_id": "crash-1"}
                assert api.post("/api/v1/tracked-links", json=body).status_code == 201
                assert receiver.wait_for(1, timeout=20), first.log()[-3000:]  # mid-send now
                body["correlation_id"] = "crash-2"
                assert api.post("/api/v1/tracked-links", json=body).status_code == 201
            first.kill()
        assert first.process.returncode == -9
        with reader.app_context():
            rows = db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)).all()
            assert [row.delivered_at for row in rows] == [None, None]
            assert rows[0].claimed_by is not None and rows[1].claimed_by is None
            message_ids = [row.message_id for row in rows]
            db.session.remove()

        receiver.hang.clear()
        receiver.release.set()
        with running_server(tmp_path, workers=2, env=env) as second:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                delivered = {r.headers["webhook-id"] for r in receiver.requests[1:] if r.headers}
                if set(message_ids) <= delivered:
                    break
                time.sleep(0.2)
            log = second.log()
        assert set(message_ids) <= delivered, log[-3000:]
        for request in receiver.requests:
            payload = Webhook(secret).verify(request.body, request.headers)
            assert payload["type"] == "tracked_link.created"
        correlation_ids = {
            Webhook(secret).verify(r.body, r.headers)["data"]["correlation_id"]
            for r in receiver.requests
        }
        assert correlation_ids == {"crash-1", "crash-2"}
    with reader.app_context():
        rows = db.session.scalars(db.select(OutboxMessage)).all()
        assert all(row.delivered_at is not None for row in rows)
        db.session.remove()
    assert "Traceback" not in log, log[-3000:]
    assert secret not in first.log() + log
