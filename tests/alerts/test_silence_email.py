"""Issue 12 §6: a silence emails every admin once per episode, through the outbox, to a real
SMTP server (aiosmtpd); the outbox worker's periodic tick notices a silence even when nobody
opens the app."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.support import bookings, factories
from tests.support.smtp import PASSWORD
from webapp import outbox
from webapp.extensions import db
from webapp.models import OutboxMessage, SilenceEpisode, Visit

BASE = "https://links.example.com"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def mail_app(app_factory, mailbox):
    return app_factory(
        MAIL_URL=mailbox.url,
        MAIL_FROM="Alerts <alerts@example.com>",
        PUBLIC_BASE_URL=BASE,
        TRUSTED_HOSTS="links.example.com,localhost",
    )


def people(app) -> int:  # type: ignore[no-untyped-def]
    """Two active admins, a retired one and a staff member; a tracked link of theirs."""
    with app.app_context():
        factories.make_user(email="admin1@example.com", role="admin")
        factories.make_user(email="admin2@example.com", role="admin")
        factories.make_user(email="retired@example.com", role="admin", active=False)
        staff = factories.make_user(email="staff@example.com", role="staff")
        public_link = factories.make_public_link(owner_id=staff.id)
        return factories.make_tracked_link(public_link.id, created_by_id=staff.id).id


def quiet_since(app, link_id: int, last_notification: datetime | None, clicks: int) -> None:
    """The newest notification at `last_notification` (none: never), then person clicks."""
    with app.app_context():
        if last_notification is not None:
            bookings.make_delivery(
                body=f'{{"at": "{last_notification.isoformat()}"}}'.encode(),
                received_at=last_notification,
            )
        start = last_notification or T0
        for minute in range(clicks):
            db.session.add(
                Visit(
                    tracked_link_id=link_id,
                    at=start + timedelta(minutes=10 + minute),
                    agent_class="human",
                    outcome="redirect",
                )
            )
        db.session.commit()


def tick(app, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """One periodic round of the outbox worker (it runs them in an app context)."""
    with app.app_context():
        outbox.run_ticks(app, now)


def silence_emails(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        query = select(func.count(OutboxMessage.id)).where(OutboxMessage.topic == "alert.silence")
        return db.session.execute(query).scalar_one()


def test_the_worker_tick_emails_every_admin_once_per_episode(mail_app, mailbox):
    link_id = people(mail_app)
    quiet_since(mail_app, link_id, T0, clicks=3)
    tick(mail_app, T0 + 12 * H)  # clicks, but not 24 h ago yet: no alarm
    assert silence_emails(mail_app) == 0

    tick(mail_app, T0 + 30 * H)
    assert mailbox.messages == []  # queued in the episode's transaction, not sent in it
    outbox.drain(mail_app, now=T0 + 30 * H, kinds=["email"])
    messages = mailbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["admin1@example.com", "admin2@example.com"]
    message = messages[0]
    assert message["Subject"] == "No Cronofy notification for 30 hours; 3 clicks since"
    assert message["From"] == "Alerts <alerts@example.com>"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    for part in (text, html):
        assert "30 hours" in part and "3 times since" in part
        assert "Embed webhook callback URL" in part
        assert f"{BASE}/webhooks/cronofy" in part  # what Cronofy must call
        assert "CRONOFY_CLIENT_SECRET" in part
        assert f"{BASE}/alerts/silence" in part  # the figures and the checks
    assert PASSWORD not in message.as_string()

    # The same silence, seen again by the next ticks (and by another worker): no more email.
    tick(mail_app, T0 + 31 * H)
    tick(mail_app, T0 + 40 * H)
    assert silence_emails(mail_app) == 2

    # A notification ends the episode; the next silence is a new one, told again.
    quiet_since(mail_app, link_id, T0 + 41 * H, clicks=1)
    tick(mail_app, T0 + 50 * H)
    assert silence_emails(mail_app) == 2
    tick(mail_app, T0 + 70 * H)
    assert silence_emails(mail_app) == 4
    with mail_app.app_context():
        episodes = db.session.execute(select(func.count(SilenceEpisode.id))).scalar_one()
    assert episodes == 2


def test_a_silence_since_the_first_click_says_no_notification_ever_arrived(mail_app, mailbox):
    link_id = people(mail_app)
    quiet_since(mail_app, link_id, None, clicks=1)
    tick(mail_app, T0 + 26 * H)
    outbox.drain(mail_app, now=T0 + 26 * H, kinds=["email"])
    [first, _] = mailbox.wait_for(2)
    assert first["Subject"] == "No Cronofy notification yet; 1 click in 25 hours"
    text = first.get_body(preferencelist=("plain",)).get_content()
    assert "has ever reached this dashboard" in text and "1 time, the first 25 hours ago" in text


def test_a_page_view_that_notices_the_episode_emails_too(mail_app, mailbox):
    link_id = people(mail_app)
    now = datetime.now(UTC)
    quiet_since(mail_app, link_id, now - 30 * H, clicks=2)
    admin = mail_app.test_client()
    admin.post("/login", data={"email": "admin1@example.com", "password": factories.PASSWORD})
    assert 'id="silence-alarm"' in admin.get("/").get_data(as_text=True)
    tick(mail_app, now)  # the worker comes by later: already told
    assert silence_emails(mail_app) == 2


def test_with_email_off_the_episode_is_logged_and_nothing_queued(app_factory, caplog):
    app = app_factory()
    link_id = people(app)
    quiet_since(app, link_id, T0, clicks=2)
    with caplog.at_level(logging.WARNING, logger="webapp.alerts.silence"):
        tick(app, T0 + 30 * H)
    assert silence_emails(app) == 0
    assert "silence alarm: no Cronofy notification for 30 hours" in caplog.text
    with app.app_context():
        assert db.session.execute(select(func.count(SilenceEpisode.id))).scalar_one() == 1
