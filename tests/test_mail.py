"""Email through the outbox, received by a real SMTP server (aiosmtpd): the booking email,
the endpoint warning and disabled emails, the daily digest, MAIL_URL, the choices page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import bookings, factories
from tests.support.capture import CaptureServer
from tests.support.smtp import PASSWORD
from webapp import outbox
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.mail import digest
from webapp.mail.settings import MailUrlError, parse_mail_url
from webapp.models import OutboxMessage, User, WebhookEndpoint, utcnow
from webapp.outbound import events, service

BASE = "https://links.example.com"


@pytest.fixture
def mail_app(app_factory, mailbox):
    return app_factory(
        MAIL_URL=mailbox.url,
        MAIL_FROM="Bookings <bookings@example.com>",
        PUBLIC_BASE_URL=BASE,
        TRUSTED_HOSTS="links.example.com,localhost",  # the test client is localhost
        WEBHOOK_ALLOW_PRIVATE_TARGETS=True,
    )


def booked_request(
    app, *, owner_email="owner@example.com", on_booking=True, correlation_id="cand-42"
):
    with app.app_context():
        owner = factories.make_user(email=owner_email, name="Olive Owner")
        user = db.session.get(User, owner.id)
        user.email_on_booking = on_booking
        db.session.commit()
        link = factories.make_tracked_link(
            factories.make_public_link(owner_id=owner.id).id,
            correlation_id=correlation_id,
            label="Jane Candidate",
            created_by_id=owner.id,
        )
        ref = bookings.make_request(
            tracked_link=link,
            invitee_name="Ada Lovelace",
            invitee_email="ada@example.com",
            summary="Interview with Ada",
            event_start="2026-12-02T14:30:00Z",
        )
        return ref.scheduling_request_id, owner.id


def emit(app, notification_type: str, srq_id: str) -> int:
    with app.app_context(), write_transaction():
        return events.emit_scheduling_request_event(notification_type, srq_id)


def test_the_owner_gets_a_booking_email_with_the_right_content(mail_app, mailbox):
    srq_id, _ = booked_request(mail_app)
    assert emit(mail_app, "scheduling_request_time_chosen", srq_id) == 1
    assert mailbox.messages == []  # queued, not sent inside the transaction
    outbox.drain(mail_app)
    [message] = mailbox.wait_for(1)
    sender, recipients, _ = mailbox.messages[0]
    assert sender == "bookings@example.com" and recipients == ["owner@example.com"]
    assert message["Subject"] == "Booked: Ada Lovelace (cand-42)"
    assert message["From"] == "Bookings <bookings@example.com>"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "cand-42" in part
        assert "Jane Candidate" in part
        assert "Wed 2 Dec 2026, 14:30 (UTC)" in part
        assert f"{BASE}/requests/{srq_id}" in part
        assert "Interview with Ada" in part
    assert "<a href=" in html


@pytest.mark.parametrize(
    ("notification", "subject"),
    [
        ("scheduling_request_rescheduled", "Rescheduled: Ada Lovelace (cand-42)"),
        ("scheduling_request_declined", "Declined: Ada Lovelace (cand-42)"),
    ],
)
def test_reschedules_and_declines_are_emailed_too(mail_app, mailbox, notification, subject):
    srq_id, _ = booked_request(mail_app)
    emit(mail_app, notification, srq_id)
    outbox.drain(mail_app)
    assert [m["Subject"] for m in mailbox.wait_for(1)] == [subject]


def test_no_email_when_the_owner_said_no_or_for_other_updates(mail_app, mailbox):
    srq_id, _ = booked_request(mail_app, on_booking=False)
    assert emit(mail_app, "scheduling_request_time_chosen", srq_id) == 0
    srq_other, _ = booked_request(
        mail_app, owner_email="other@example.com", correlation_id="cand-43"
    )
    assert emit(mail_app, "scheduling_request_something_else", srq_other) == 0
    with mail_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 0


def test_no_email_and_no_message_when_email_is_off(app_factory):
    app = app_factory()
    srq_id, _ = booked_request(app)
    assert emit(app, "scheduling_request_time_chosen", srq_id) == 0


def test_email_is_on_by_default_for_bookings_and_the_digest_is_off(app):
    with app.app_context():
        user = db.session.get(User, factories.make_user(email="new@example.com").id)
        assert user.email_on_booking is True and user.email_daily_digest is False


def test_a_failing_endpoint_warns_then_is_disabled_and_every_admin_is_emailed(mail_app, mailbox):
    with mail_app.app_context():
        factories.make_user(email="admin1@example.com", role="admin")
        factories.make_user(email="admin2@example.com", role="admin")
        factories.make_user(email="staff@example.com", role="staff")
    with CaptureServer(statuses=[500] * 100) as receiver:
        with mail_app.app_context():
            endpoint_id = service.create_endpoint(
                None, {"url": receiver.url, "description": "Greenhouse ATS"}
            ).endpoint.id
            link = factories.make_tracked_link(factories.make_public_link().id)
            with write_transaction():
                events.emit_tracked_link_created(link)
        t0 = utcnow()
        # Attempts at 0 s, 5 s, 1 min, 6 min, 36 min, 2.6 h, 7.6 h: failing, no warning yet.
        outbox.drain(mail_app, now=t0, until=t0 + timedelta(hours=12), kinds=["webhook"])
        with mail_app.app_context():
            assert db.session.get(WebhookEndpoint, endpoint_id).warned_at is None
        # The 8th, at 17.6 h, is the first failure 12 h after the first: the admins are told.
        outbox.drain(mail_app, now=t0, until=t0 + timedelta(hours=18), kinds=["webhook"])
        with mail_app.app_context():
            endpoint = db.session.get(WebhookEndpoint, endpoint_id)
            assert endpoint.enabled and endpoint.warned_at is not None
        outbox.drain(mail_app, now=t0, kinds=["email"])
        warnings = mailbox.wait_for(2)
        assert sorted(m["To"] for m in warnings) == ["admin1@example.com", "admin2@example.com"]
        assert warnings[0]["Subject"] == "Webhook endpoint failing for 12 hours: Greenhouse ATS"
        admin = mail_app.test_client()
        admin.post("/login", data={"email": "admin1@example.com", "password": factories.PASSWORD})
        page = admin.get("/settings/webhooks").get_data(as_text=True)
        assert "failing" in page

        # And on to 24 h: disabled, its message held, every admin told again.
        rounds = outbox.drain(mail_app, now=t0, kinds=["webhook"])
        with mail_app.app_context():
            endpoint = db.session.get(WebhookEndpoint, endpoint_id)
            assert not endpoint.enabled and endpoint.disabled_reason == "failing"
            [held] = db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.kind == "webhook")
            ).all()
            assert held.held and held.delivered_at is None and held.gave_up_at is None
            failed_at = [a.at for a in held_attempts(held.id)]
        assert failed_at[-1] - failed_at[0] >= timedelta(hours=17)
        assert rounds[-1].next_due is None
        outbox.drain(mail_app, now=t0 + timedelta(days=2), kinds=["email"])
        disabled = mailbox.wait_for(4)[2:]
        assert {m["Subject"] for m in disabled} == {
            "Webhook endpoint disabled after 24 hours of failures: Greenhouse ATS"
        }
        body = disabled[0].get_body(preferencelist=("plain",)).get_content()
        assert f"{BASE}/settings/webhooks/{endpoint_id}" in body

        # Re-enabling delivers what is still pending.
        receiver.statuses.clear()
        attempts_before = len(receiver.requests)
        with mail_app.app_context():
            service.set_enabled(endpoint_id, True)
        outbox.drain(mail_app, kinds=["webhook"])
        assert len(receiver.requests) == attempts_before + 1
    assert PASSWORD not in "".join(m.as_string() for m in mailbox.wait_for(4))


def held_attempts(message_pk: int):
    from webapp.models import OutboxAttempt

    return db.session.scalars(
        db.select(OutboxAttempt)
        .where(OutboxAttempt.message_pk == message_pk)
        .order_by(OutboxAttempt.number)
    ).all()


def test_the_daily_digest_goes_once_a_day_to_those_who_chose_it(mail_app, mailbox):
    srq_id, owner_id = booked_request(mail_app)
    with mail_app.app_context():
        factories.make_user(email="quiet@example.com")  # digest off: nothing
        user = db.session.get(User, owner_id)
        user.email_daily_digest = True
        db.session.commit()
        now = utcnow() + timedelta(minutes=1)
        assert digest.queue_due_digests(now) == 1
        assert digest.queue_due_digests(now + timedelta(hours=1)) == 0  # once a day
    outbox.drain(mail_app)
    [message] = mailbox.wait_for(1)
    assert message["To"] == "owner@example.com"
    assert message["Subject"].startswith("Your daily digest: 1 update")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Ada Lovelace" in text and "cand-42" in text and srq_id in text
    with mail_app.app_context():
        # A day later with nothing new: no email, but the day counts as done.
        assert digest.queue_due_digests(now + timedelta(days=1, minutes=1)) == 0


def test_the_choices_are_a_section_of_the_account_page_and_save_both(mail_app, staff_client):
    page = staff_client.get("/account").get_data(as_text=True)
    assert 'id="notifications"' in page
    assert 'name="email_on_booking" value="1" role="switch" checked' in page
    assert 'action="/account/notifications"' in page
    # The old address opens that section.
    response = staff_client.get("/account/notifications")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/account#notifications"
    )
    response = staff_client.post("/account/notifications", data={"email_daily_digest": "1"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account#notifications")
    with mail_app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "staff@example.com"))
        assert (user.email_on_booking, user.email_daily_digest) == (False, True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://u:p%40ss@mail.example.com:2525",
            ("mail.example.com", 2525, "u", "p@ss", False, False),
        ),
        ("smtps://mail.example.com", ("mail.example.com", 465, None, None, True, False)),
        ("smtp://mail.example.com?starttls=1", ("mail.example.com", 587, None, None, False, True)),
        ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, False)),
    ],
)
def test_mail_url_forms(url, expected):
    s = parse_mail_url(url)
    assert (s.host, s.port, s.username, s.password, s.use_ssl, s.starttls) == expected
    assert "p@ss" not in repr(s)


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "smtps://h?starttls=1"])
def test_bad_mail_urls_are_refused_clearly(url):
    with pytest.raises(MailUrlError):
        parse_mail_url(url)
