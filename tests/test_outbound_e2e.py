"""The issue's "done when", over real HTTP: gunicorn serves the app with the sandbox on; an
admin adds a webhook endpoint through the API, the owner of a tracked link has email on,
an invitee books through the tracked link, and both the signed webhook (verified with the
`standardwebhooks` library) and the owner's email (received by aiosmtpd) arrive; the audit
log shows what the staff did."""

from __future__ import annotations

import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.integration import sandbox_stage


@pytest.mark.timeout(180)
def test_a_sandbox_booking_reaches_a_webhook_endpoint_and_the_owners_inbox(tmp_path):
    with sandbox_stage(tmp_path) as stage:
        secret = stage.add_endpoint()["secret"]
        link = stage.new_link("Jane Candidate")
        correlation_id, slug = link["correlation_id"], link["slug"]
        stage.book(slug, "Grace Hopper", "grace@example.com")

        received = stage.receiver.wait_for(2, timeout=30)
        assert len(received) == 2, stage.server.log()[-3000:]
        payloads = [Webhook(secret).verify(r.body, r.headers) for r in received]
        assert [p["type"] for p in payloads] == [
            "tracked_link.created",
            "scheduling_request.time_chosen",
        ]
        booked = payloads[1]["data"]
        assert booked["correlation_id"] == correlation_id
        assert booked["status"] == "time_chosen"
        assert booked["recipients"][0]["email"] == "grace@example.com"
        assert payloads[0]["data"]["url"] == f"{stage.base_url}/l/{slug}"

        [email] = stage.mailbox.wait_for(1, timeout=30)
        assert email["To"] == "owner@example.com"
        assert email["Subject"] == f"Booked: Grace Hopper ({correlation_id})"
        text = email.get_body(preferencelist=("plain",)).get_content()
        assert "Jane Candidate" in text
        assert f"{stage.base_url}/requests/{booked['scheduling_request_id']}" in text

        # The audit log shows what they did: the endpoint and the tracked link, by whom.
        with stage.api(stage.admin_token) as api:
            audit = api.get("/api/v1/audit-events")
        assert audit.status_code == 200, audit.text
        done = {(item["action"], item["actor"]) for item in audit.json()["items"]}
        assert ("webhook_endpoint.created", "admin@example.com") in done, done
        assert ("tracked_link.created", "owner@example.com") in done, done
        log = stage.server.log()
    assert "Traceback" not in log, log[-3000:]
    assert secret not in log
