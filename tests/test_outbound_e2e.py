"""The issue's "done when", over real HTTP: gunicorn serves the app with the sandbox on; an
admin adds a webhook endpoint through the API, the owner of a tracked link has email on,
an invitee books through the tracked link, and both the signed webhook (verified with the
`standardwebhooks` library) and the owner's email (received by aiosmtpd) arrive."""

from __future__ import annotations

import secrets

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support import factories
from tests.support.capture import CaptureServer
from tests.support.sandbox import hidden, slot_keys
from tests.support.server import free_port, running_server, server_env
from tests.support.signin import BROWSER_UA as BROWSER
from tests.support.smtp import smtp_server
from webapp import create_app
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User


@pytest.mark.timeout(180)
def test_a_sandbox_booking_reaches_a_webhook_endpoint_and_the_owners_inbox(tmp_path):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with smtp_server() as mailbox, CaptureServer() as receiver:
        env = server_env(
            tmp_path,
            WEBAPP_SANDBOX="1",
            WEBHOOK_ALLOW_PRIVATE_TARGETS="1",
            MAIL_URL=mailbox.url,
            MAIL_FROM="Bookings <bookings@example.com>",
            PUBLIC_BASE_URL=base_url,
        )
        with running_server(tmp_path, env=env, port=port) as server:
            staff_app = create_app(
                {
                    "TESTING": True,
                    "INSTANCE_PATH": str(tmp_path / "staff-instance"),
                    "DATABASE_URL": server.database_url,
                    "SECRET_KEY": secrets.token_hex(16),
                }
            )
            code = "hooks-" + secrets.token_hex(3)
            with staff_app.app_context():
                admin = factories.make_user(email="admin@example.com", role="admin")
                owner = factories.make_user(email="owner@example.com", name="Olive Owner")
                public = factories.make_public_link(
                    owner_id=owner.id, name="Interviews", url=f"{base_url}/sandbox/pls/{code}"
                )
                admin_token = issue_token(db.session.get(User, admin.id), "integration")
                owner_token = issue_token(db.session.get(User, owner.id), "owner")
            with httpx.Client(base_url=base_url, timeout=10) as api:
                created = api.post(
                    "/api/v1/webhook-endpoints",
                    json={"url": receiver.url, "description": "ATS"},
                    headers={"Authorization": f"Bearer {admin_token}"},
                )
                assert created.status_code == 201, created.text
                secret = created.json()["secret"]
                link = api.post(
                    "/api/v1/tracked-links",
                    json={"public_link_id": public.id, "label": "Jane Candidate"},
                    headers={"Authorization": f"Bearer {owner_token}"},
                )
                assert link.status_code == 201, link.text
            correlation_id, slug = link.json()["correlation_id"], link.json()["slug"]

            with httpx.Client(base_url=base_url, headers={"User-Agent": BROWSER}) as invitee:
                booking_url = invitee.get(f"/l/{slug}").headers["Location"]
                page = invitee.get(booking_url)
                confirm = invitee.post(
                    f"/sandbox/pls/{code}",
                    data={
                        "csrf_token": hidden(page.text, "csrf_token"),
                        "jti": hidden(page.text, "jti"),
                        "slot": slot_keys(page.text)[0],
                        "name": "Grace Hopper",
                        "email": "grace@example.com",
                    },
                )
                assert confirm.status_code == 303, confirm.text[:500]

            received = receiver.wait_for(2, timeout=30)
            assert len(received) == 2, server.log()[-3000:]
            payloads = [Webhook(secret).verify(r.body, r.headers) for r in received]
            assert [p["type"] for p in payloads] == [
                "tracked_link.created",
                "scheduling_request.time_chosen",
            ]
            booked = payloads[1]["data"]
            assert booked["correlation_id"] == correlation_id
            assert booked["status"] == "time_chosen"
            assert booked["recipients"][0]["email"] == "grace@example.com"
            assert payloads[0]["data"]["url"] == f"{base_url}/l/{slug}"

            [email] = mailbox.wait_for(1, timeout=30)
            assert email["To"] == "owner@example.com"
            assert email["Subject"] == f"Booked: Grace Hopper ({correlation_id})"
            text = email.get_body(preferencelist=("plain",)).get_content()
            assert "Jane Candidate" in text
            assert f"{base_url}/requests/{booked['scheduling_request_id']}" in text

            # The audit log shows what they did: the endpoint and the tracked link, by whom.
            with httpx.Client(base_url=base_url, timeout=10) as api:
                audit = api.get(
                    "/api/v1/audit-events",
                    headers={"Authorization": f"Bearer {admin_token}"},
                )
            assert audit.status_code == 200, audit.text
            done = {(item["action"], item["actor"]) for item in audit.json()["items"]}
            assert ("webhook_endpoint.created", "admin@example.com") in done, done
            assert ("tracked_link.created", "owner@example.com") in done, done
            log = server.log()
            with staff_app.app_context():
                db.engine.dispose()
        assert "Traceback" not in log, log[-3000:]
        assert secret not in log
