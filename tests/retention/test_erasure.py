"""Erasing one invitee, in process: what is rewritten and what stays, letter case, a
non-JSON payload, a second invitee left alone, a waiting signed message, the CLI, the page's
access rules, and the scrubbing rules themselves."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from tests.support import factories
from tests.support.bookings import make_delivery, make_request
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import (
    AuditEvent,
    Delivery,
    OutboxMessage,
    SchedulingRequest,
)
from webapp.models.bookings import SchedulingRequestTerm
from webapp.retention.erase import erase
from webapp.retention.scrub import ERASED_NAME, Invitee, scrub_body, scrub_text

TARGET = "ada@example.com"
OTHER = {"email": "bob@example.com", "display_name": "Bob Builder"}


@pytest.fixture
def booked(app):
    with app.app_context():
        both = make_request(
            recipients=[
                {"email": "Ada@Example.COM", "display_name": "Ada Lovelace"},
                dict(OTHER),
            ],
            summary="Interview with Ada Lovelace",
            captured_data={"phone_number": "+44 20 7946 0000"},
            notifications=2,
        )
        untouched = make_request(invitee_email="carol@example.com", invitee_name="Carol Ann")
        failed = make_delivery(
            body=b"not json, from ada@example.com",
            status="failed",
            error="could not read: ada@example.com",
        )
        db.session.add(
            OutboxMessage(
                message_id="msg_waiting",
                kind="sandbox",
                topic="scheduling_request_time_chosen",
                target="http://127.0.0.1:1/webhooks/cronofy",
                body=json.dumps({"recipients": [{"email": TARGET}]}).encode(),
                headers={"Cronofy-HMAC-SHA256": "abc="},
            )
        )
        db.session.commit()
        return {"both": both, "untouched": untouched, "failed": failed}


def _request(srq: str) -> SchedulingRequest:
    return db.session.scalar(
        select(SchedulingRequest).where(SchedulingRequest.scheduling_request_id == srq)
    )


def _terms(pk: int) -> set[str]:
    return set(
        db.session.scalars(
            select(SchedulingRequestTerm.term).where(
                SchedulingRequestTerm.scheduling_request_pk == pk
            )
        )
    )


def test_erasure_rewrites_what_names_them_and_keeps_the_rest(app, booked):
    with app.app_context():
        untouched_before = _request(booked["untouched"].scheduling_request_id).recipients
        report = erase("  ADA@example.com ", actor=None)
        assert report.counts["requests"] == 1
        assert report.counts["payloads"] == 3  # two of the request's, one failed delivery
        assert report.counts["cancelled"] == 1

        request = _request(booked["both"].scheduling_request_id)
        assert request.recipients == [{"email": "", "display_name": ERASED_NAME}, OTHER]
        assert request.summary == f"Interview with {ERASED_NAME}"
        assert request.captured_data == {}
        assert request.notification_count == 2
        terms = _terms(request.id)
        assert "ada@example.com" not in terms and "lovelace" not in terms
        assert {"bob@example.com", "builder", "erased"} <= terms
        assert _request(booked["untouched"].scheduling_request_id).recipients == untouched_before

        for delivery in db.session.scalars(select(Delivery)):
            text = bytes(delivery.body).decode().lower()
            assert "ada@" not in text and "lovelace" not in text
            if delivery.id in booked["both"].delivery_ids:
                assert "bob@example.com" in text  # the other invitee stays
                assert "captured_data" not in text  # their answers went
                # The hash of the original body stays, so a late retry is still a duplicate.
                assert len(delivery.body_sha256) == 64
        failed = db.session.get(Delivery, booked["failed"])
        assert bytes(failed.body) == b"not json, from [erased]"
        assert failed.error == "could not read: [erased]"

        message = db.session.scalar(select(OutboxMessage))
        assert TARGET not in bytes(message.body).decode()
        assert message.state == "gave_up"  # its signature would not match the new body

        entry = db.session.scalar(select(AuditEvent))
        assert entry.action == "invitee.erased" and entry.actor_id is None
        assert "ada" not in json.dumps(entry.changes).lower()
        assert "ada" not in (entry.target_name or "").lower()


def test_the_cli_asks_then_erases(app, runner, booked):
    refused = runner.invoke(args=["erase-invitee", TARGET], input="n\n")
    assert refused.exit_code != 0
    assert "is named by 1 request(s)" in refused.output and "Ada Lovelace" in refused.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    done = runner.invoke(args=["erase-invitee", "Ada@Example.com", "--yes"])
    assert done.exit_code == 0, done.output
    assert "1 requests" in done.output
    with app.app_context():
        request = _request(booked["both"].scheduling_request_id)
        assert request.recipients[0]["display_name"] == ERASED_NAME
        entry = db.session.scalar(select(AuditEvent))
        assert entry.address == "cli"
    again = runner.invoke(args=["erase-invitee", TARGET, "--yes"])
    assert "is named by 0 request(s)" in again.output


def test_the_cli_refuses_what_is_not_an_email(runner):
    result = runner.invoke(args=["erase-invitee", "not-an-email", "--yes"])
    assert result.exit_code != 0
    assert "is not an email address" in result.output


def test_only_admins_reach_the_erase_page(app, client, booked):
    srq = booked["both"].scheduling_request_id
    with app.app_context():
        staff = factories.make_user(email="staff@example.com")
        admin = factories.make_user(email="admin@example.com", role="admin")
    assert client.get(f"/erase-invitee?request={srq}&recipient=0").status_code == 302  # sign in
    sign_in(client, staff.id)
    assert "/erase-invitee" not in client.get(f"/requests/{srq}").text
    assert client.get(f"/erase-invitee?request={srq}&recipient=0").status_code == 403
    assert client.post("/erase-invitee", data={"request": srq, "email": TARGET}).status_code == 403
    sign_in(client, admin.id)
    assert client.get("/erase-invitee?request=srq_nope&recipient=0").status_code == 404
    assert client.get(f"/erase-invitee?request={srq}&recipient=7").status_code == 302
    page = client.get(f"/erase-invitee?request={srq}&recipient=1")
    assert page.status_code == 200 and "bob@example.com" in page.text
    bad = client.post("/erase-invitee", data={"request": srq, "email": "nobody"})
    assert bad.status_code == 400
    with app.app_context():  # nothing was erased (the sign-ins are audited, nothing else)
        erased = select(func.count()).where(AuditEvent.action == "invitee.erased")
        assert db.session.scalar(erased) == 0


def test_the_erase_form_needs_its_csrf_token(app_factory, booked):
    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        admin = factories.make_user(email="admin@example.com", role="admin")
    client = app.test_client()
    sign_in(client, admin.id)
    srq = booked["both"].scheduling_request_id
    answer = client.post("/erase-invitee", data={"request": srq, "email": TARGET})
    assert answer.status_code == 400
    with app.app_context():
        assert _request(srq).recipients[0]["email"] == "Ada@Example.COM"


def test_scrubbing_rules():
    invitee = Invitee.of("ada@example.com", ["Ada  Lovelace", "A"])
    assert invitee.names == ("Ada Lovelace",)  # spaces folded; one letter is no name
    assert scrub_text("ADA LOVELACE <Ada@Example.com>; Adam Ada", invitee) == (
        f"{ERASED_NAME} <[erased]>; Adam Ada"
    )
    body = b'{"a": "unrelated"}'
    assert scrub_body(body, invitee) is body  # untouched bytes stay the same bytes
    mime = (
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\nSubject: Booked: Ada Lovelace\r\n\r\n"
        + base64.encodebytes(b"Hi Ada Lovelace, ada@example.com")
    )
    cleaned = scrub_body(mime, invitee)
    assert b"Lovelace" not in cleaned and b"QWRh" not in cleaned  # base64 of "Ada"
