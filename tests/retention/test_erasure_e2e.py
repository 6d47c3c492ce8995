"""Erasure leaves no trace (issue 12 §5), over real HTTP: gunicorn serves the app with the
sandbox on; an invitee books through a tracked link, so the booking reaches the receiver, a
webhook endpoint and the owner's inbox; an admin erases the invitee from the request's
page; then no page, export, API answer or database column holds their email or name, and
the counts are what they were."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.support import factories
from tests.support.integration import sandbox_stage
from tests.support.sandbox import hidden
from tests.support.server import eventually
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.links.queries import click_counts
from webapp.models import AuditEvent, Delivery, OutboxMessage, SchedulingRequest

EMAIL = "Grace.Hopper@Example.com"  # typed with capitals; erased as grace.hopper@example.com
NAME = "Grace Hopper"
TRACES = ("grace.hopper@example.com", "grace hopper", "hopper", "7700 900123")


def traces_in(text: str) -> list[str]:
    lowered = text.lower()
    return [trace for trace in TRACES if trace in lowered]


def every_text_column() -> dict[str, list[str]]:
    """Every value of every column of every table, as text, where it holds a trace."""
    found: dict[str, list[str]] = {}
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                if traces_in(text):
                    found.setdefault(f"{table.name}.{column}", []).append(text[:300])
    db.session.commit()
    return found


@pytest.mark.timeout(240)
def test_erasing_an_invitee_leaves_no_trace(tmp_path):
    with sandbox_stage(tmp_path, hook_path="/hooks", WTF_CSRF_ENABLED=False) as stage:
        server, staff_app, receiver, mailbox = (
            stage.server,
            stage.staff_app,
            stage.receiver,
            stage.mailbox,
        )
        with staff_app.app_context():
            staff_id = factories.make_user(email="staff@example.com", role="staff").id
        api_headers = {"Authorization": f"Bearer {stage.admin_token}"}
        endpoint_id = stage.add_endpoint()["id"]
        link = stage.new_link("Backend role")
        slug, link_id = link["slug"], link["id"]
        stage.book(slug, NAME, EMAIL, phone_number="+44 7700 900123")

        assert len(receiver.wait_for(2, timeout=30)) == 2, server.log()[-3000:]
        assert len(mailbox.wait_for(1, timeout=30)) == 1

        def delivered() -> bool:
            with staff_app.app_context():
                waiting = db.session.scalar(
                    select(OutboxMessage.id).where(OutboxMessage.delivered_at.is_(None))
                )
                db.session.commit()
                return waiting is None

        assert eventually(delivered, timeout=30), "the outbox did not empty"

        with staff_app.app_context():
            request = db.session.scalar(select(SchedulingRequest))
            srq, correlation_id = request.scheduling_request_id, request.correlation_id
            count_before = request.notification_count
            assert request.captured_data  # the phone number came through
            clicks_before = click_counts([link_id])
            delivery_ids = list(db.session.scalars(select(Delivery.id)))
            # Before: the booking is everywhere the test looks afterwards.
            assert every_text_column()

        client = staff_app.test_client()
        sign_in(client, staff_id)
        assert client.get(f"/erase-invitee?request={srq}&recipient=0").status_code == 403
        assert (
            client.post("/erase-invitee", data={"request": srq, "email": EMAIL}).status_code == 403
        )
        sign_in(client, stage.admin_id)
        detail = client.get(f"/requests/{srq}")
        assert f"/erase-invitee?request={srq}&amp;recipient=0" in detail.text
        confirmation = client.get(f"/erase-invitee?request={srq}&recipient=0")
        assert confirmation.status_code == 200
        assert EMAIL in confirmation.text and NAME in confirmation.text
        assert "1 scheduling request(s)" in confirmation.text
        email_field = hidden(confirmation.text, "email")
        erased = client.post("/erase-invitee", data={"request": srq, "email": email_field})
        assert erased.status_code == 302
        assert erased.headers["Location"].endswith(f"/requests/{srq}")

        pages = [
            "/",
            f"/requests/{srq}",
            "/?q=grace",
            "/?q=hopper",
            f"/?q={correlation_id}",
            "/events",
            *[f"/events/{key}" for key in delivery_ids],
            "/requests/export.csv",
            "/links",
            f"/links/{link_id}",
            "/links/export.csv",
            f"/settings/webhooks/{endpoint_id}",
            "/audit",
            "/audit/export.csv",
        ]
        for path in pages:
            answer = client.get(path)
            assert answer.status_code == 200, path
            # A search page shows its own query back; the rest of it must be clean.
            shown = answer.text.replace(path.partition("?q=")[2] or "\0", "")
            assert traces_in(shown) == [], path
        assert "Erased invitee" in client.get(f"/requests/{srq}").text
        assert srq in client.get(f"/?q={correlation_id}").text  # still found by its ID
        assert srq not in client.get("/?q=hopper").text
        api_paths = [
            "/api/v1/scheduling-requests",
            f"/api/v1/scheduling-requests/{srq}",
            "/api/v1/tracked-links",
            f"/api/v1/tracked-links/{link_id}",
            "/api/v1/audit-events",
            f"/api/v1/webhook-endpoints/{endpoint_id}",
        ]
        for path in api_paths:
            answer = client.get(path, headers=api_headers)
            assert answer.status_code == 200, path
            assert traces_in(answer.text) == [], path

        with staff_app.app_context():
            assert every_text_column() == {}
            request = db.session.scalar(select(SchedulingRequest))
            assert request.notification_count == count_before
            assert request.captured_data == {}
            assert click_counts([link_id]) == clicks_before
            [entry] = db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "invitee.erased")
            ).all()
            assert entry.actor_email == "admin@example.com"
            assert entry.target_name == "an invitee"
            assert entry.changes["requests"] == 1
            assert entry.changes["payloads"] >= 1
            assert entry.changes["outbound_messages"] >= 3  # sandbox, webhook, email
            assert entry.changes["from_request"] == srq
            assert not re.search("grace", str(entry.changes), re.IGNORECASE)
        log = server.log()
    assert "Traceback" not in log, log[-3000:]
