"""RETENTION_DAYS: what a purge removes and keeps, its dry run, its audit entry, its batches,
the CLI, and the daily run claimed once across workers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support import factories
from tests.support.bookings import make_request
from tests.support.signin import sign_in
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.links.queries import click_counts, visit_count
from webapp.models import (
    AuditEvent,
    Delivery,
    OutboxAttempt,
    OutboxMessage,
    RefusedDelivery,
    SchedulingRequest,
    Visit,
    utcnow,
)
from webapp.outbound.events import human_clicks
from webapp.retention import schedule
from webapp.retention.purge import purge

DAYS = 30


def _old(days: int = DAYS + 5):
    return utcnow() - timedelta(days=days)


def _visits(link_id: int, at, agents: list[str]) -> None:
    for agent in agents:
        db.session.add(
            Visit(tracked_link_id=link_id, at=at, jti=None, agent_class=agent, outcome="redirect")
        )
    db.session.commit()


def _message(*, delivered_at=None, gave_up_at=None, attempts_at=()) -> int:
    message = OutboxMessage(
        message_id="msg_" + str(len(attempts_at)) + str(delivered_at or gave_up_at or "p"),
        kind="webhook",
        topic="scheduling_request.time_chosen",
        target="https://hooks.example.com/in",
        body=b'{"data": "old"}',
        delivered_at=delivered_at,
        gave_up_at=gave_up_at,
    )
    db.session.add(message)
    db.session.flush()
    for number, at in enumerate(attempts_at, 1):
        db.session.add(OutboxAttempt(message_pk=message.id, number=number, at=at, ok=True))
    db.session.commit()
    return message.id


@pytest.fixture
def world(app):
    """Old and recent data of every kind the purge looks at."""
    with app.app_context():
        owner = factories.make_user(email="owner@example.com")
        public = factories.make_public_link(owner_id=owner.id)
        link = factories.make_tracked_link(public.id, created_by_id=owner.id)
        old_request = make_request(tracked_link=link, updated_at=_old(), notifications=2)
        new_request = make_request(updated_at=utcnow() - timedelta(days=1))
        _visits(link.id, _old(), ["human", "human", "bot", "preview"])
        _visits(link.id, utcnow() - timedelta(days=2), ["human", "head"])
        old_message = _message(delivered_at=_old(), attempts_at=[_old(40), _old(36)])
        new_message = _message(delivered_at=utcnow(), attempts_at=[utcnow()])
        waiting = _message(attempts_at=[_old()])  # still retrying: its body stays
        db.session.add_all(
            [
                RefusedDelivery(
                    at=_old(),
                    last_at=_old(),
                    reason="bad signature",
                    count=3,
                    client_address="203.0.113.9",
                ),
                RefusedDelivery(
                    at=utcnow(),
                    last_at=utcnow(),
                    reason="bad signature",
                    client_address="203.0.113.9",
                ),
            ]
        )
        db.session.commit()
        return {
            "link_id": link.id,
            "old_request": old_request,
            "new_request": new_request,
            "old_message": old_message,
            "new_message": new_message,
            "waiting": waiting,
        }


def _snapshot() -> dict:
    return {
        "bodies": {d.id: bytes(d.body) for d in db.session.scalars(select(Delivery))},
        "visits": db.session.scalar(select(func.count()).select_from(Visit)),
        "attempts": db.session.scalar(select(func.count()).select_from(OutboxAttempt)),
        "messages": {m.id: bytes(m.body) for m in db.session.scalars(select(OutboxMessage))},
        "refused": db.session.scalar(select(func.count()).select_from(RefusedDelivery)),
        "audit": db.session.scalar(select(func.count()).select_from(AuditEvent)),
    }


def test_a_purge_removes_old_data_and_keeps_summaries_and_counts(app, world):
    with app.app_context():
        link_id = world["link_id"]
        assert click_counts([link_id]) == {link_id: 3}
        assert visit_count(link_id) == 6
        old_srq = world["old_request"].scheduling_request_id
        before = db.session.scalar(
            select(SchedulingRequest).where(SchedulingRequest.scheduling_request_id == old_srq)
        )
        kept = {
            "status": before.status,
            "recipients": before.recipients,
            "summary": before.summary,
            "notification_count": before.notification_count,
        }
        db.session.commit()

        report = purge(utcnow(), DAYS, batch_size=1)  # one row per transaction: batches work

        assert report.counts == {
            "payloads": 2,
            "visits": 4,
            "outbox_attempts": 3,
            "outbox_bodies": 1,
            "refused_deliveries": 1,
        }
        old_ids = set(world["old_request"].delivery_ids)
        for delivery in db.session.scalars(select(Delivery)):
            if delivery.id in old_ids:
                assert bytes(delivery.body) == b"" and delivery.purged_at is not None
                assert delivery.type == "scheduling_request_time_chosen"  # the envelope stays
                assert delivery.scheduling_request_id == old_srq
            else:
                assert delivery.body and delivery.purged_at is None
        after = db.session.scalar(
            select(SchedulingRequest).where(SchedulingRequest.scheduling_request_id == old_srq)
        )
        assert {key: getattr(after, key) for key in kept} == kept
        # Clicks and visits still count what retention removed.
        assert click_counts([link_id]) == {link_id: 3}
        assert human_clicks([link_id]) == {link_id: 3}
        assert visit_count(link_id) == 6
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 2
        messages = {m.id: m for m in db.session.scalars(select(OutboxMessage))}
        assert bytes(messages[world["old_message"]].body) == b""
        assert messages[world["old_message"]].purged_at is not None
        assert messages[world["old_message"]].state == "delivered"
        assert bytes(messages[world["new_message"]].body) != b""
        assert bytes(messages[world["waiting"]].body) != b""  # pending messages are kept
        assert db.session.scalar(select(func.count()).select_from(RefusedDelivery)) == 1

        [entry] = db.session.scalars(select(AuditEvent)).all()
        assert entry.action == "retention.purged"
        assert entry.actor_id is None and entry.address == "cli"
        assert entry.changes["visits"] == 4 and entry.changes["retention_days"] == DAYS

        # A second purge finds nothing left to remove, and counts stay right.
        again = purge(utcnow(), DAYS)
        assert again.total == 0
        assert click_counts([link_id]) == {link_id: 3}


def test_a_dry_run_counts_and_changes_nothing(app, world):
    with app.app_context():
        before = _snapshot()
        report = purge(utcnow(), DAYS, dry_run=True)
        assert report.dry_run
        assert report.counts == {
            "payloads": 2,
            "visits": 4,
            "outbox_attempts": 3,
            "outbox_bodies": 1,
            "refused_deliveries": 1,
        }
        assert _snapshot() == before


def test_pages_and_api_say_the_payload_was_removed(app, client, admin, world):
    with app.app_context():
        purge(utcnow(), DAYS)
    sign_in(client, admin.id)
    srq = world["old_request"].scheduling_request_id
    page = client.get(f"/requests/{srq}")
    assert page.status_code == 200
    assert page.text.count("Payload removed by retention on") == 2
    delivery_id = world["old_request"].delivery_ids[0]
    detail = client.get(f"/events/{delivery_id}")
    assert detail.status_code == 200
    assert "Payload removed by retention on" in detail.text
    assert client.get("/events").status_code == 200


def test_the_cli_purges_and_its_dry_run_prints_per_kind(app_factory, tmp_path):
    app = app_factory(RETENTION_DAYS=DAYS)
    with app.app_context():
        public = factories.make_public_link()
        link_id = factories.make_tracked_link(public.id).id
        _visits(link_id, _old(), ["human", "bot"])
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would remove" in dry.output
    assert "       2  tracked-link visits" in dry.output
    assert "nothing was changed" in dry.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    done = runner.invoke(args=["purge"])
    assert done.exit_code == 0, done.output
    assert "       2  tracked-link visits" in done.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Visit)) == 0
        assert click_counts([link_id]) == {link_id: 1}


def test_the_cli_refuses_without_retention_days(runner):
    result = runner.invoke(args=["purge"])
    assert result.exit_code != 0
    assert "RETENTION_DAYS is not set" in result.output


def test_the_daily_purge_runs_once_a_day_across_workers(app_factory):
    app = app_factory(RETENTION_DAYS=DAYS)
    other_worker = app_factory(RETENTION_DAYS=DAYS)  # same database, another process's app
    now = utcnow()
    with app.app_context():
        public = factories.make_public_link()
        link_id = factories.make_tracked_link(public.id).id
        _visits(link_id, _old(), ["human"])
        assert schedule.purge_on_tick(now) is not None
    with other_worker.app_context():
        assert schedule.purge_on_tick(now + timedelta(minutes=1)) is None
        assert schedule.purge_on_tick(now + timedelta(hours=23)) is None
        _visits(link_id, now - timedelta(days=DAYS - 1), ["human"])  # old by tomorrow + 1
        report = schedule.purge_on_tick(now + timedelta(days=1, minutes=1))
        assert report is not None
    with app.app_context():
        assert schedule.purge_on_tick(now + timedelta(days=1, minutes=2)) is None
        audits = db.session.scalars(select(AuditEvent.action)).all()
        assert audits == ["retention.purged", "retention.purged"]


def test_the_tick_does_nothing_without_retention_days(app):
    with app.app_context():
        assert schedule.purge_on_tick(utcnow()) is None
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5", " "])
def test_retention_days_must_be_a_positive_whole_number(app_factory, monkeypatch, value):
    monkeypatch.setenv("RETENTION_DAYS", value)
    if value.strip():
        with pytest.raises(ConfigError, match="RETENTION_DAYS must be a whole number of days"):
            app_factory()
    else:
        assert app_factory().config["RETENTION_DAYS"] is None


def test_retention_days_from_the_environment(app_factory, monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "90")
    assert app_factory().config["RETENTION_DAYS"] == 90
    monkeypatch.delenv("RETENTION_DAYS")
    assert app_factory().config["RETENTION_DAYS"] is None
