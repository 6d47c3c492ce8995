"""Issue 12 §6: the silence alarm, driven with an injected clock.

Up when a person clicked a tracked link after the newest notification and that click is
ALERT_SILENCE_HOURS old; admins are told once per episode; a notification ends it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.support import bookings, factories
from webapp import create_app
from webapp.alerts import silence
from webapp.config import ConfigError
from webapp.extensions import db
from webapp.models import SilenceEpisode, Visit

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def told(app):
    """Every call of the episode hook: (admin emails, figures)."""
    calls: list[tuple[list[str], silence.SilenceState]] = []
    silence.set_episode_hook(
        app, lambda admins, figures: calls.append(([a.email for a in admins], figures))
    )
    return calls


@pytest.fixture
def link_id(app):
    with app.app_context():
        factories.make_user(email="admin@example.com", role="admin")
        factories.make_user(email="second@example.com", role="admin")
        factories.make_user(email="retired@example.com", role="admin", active=False)
        staff = factories.make_user(email="staff@example.com", role="staff")
        public_link = factories.make_public_link(owner_id=staff.id)
        return factories.make_tracked_link(public_link.id, created_by_id=staff.id).id


def click(app, link_id: int, at: datetime, agent_class: str = "human") -> None:
    with app.app_context():
        db.session.add(
            Visit(tracked_link_id=link_id, at=at, agent_class=agent_class, outcome="redirect")
        )
        db.session.commit()


def notify(app, at: datetime) -> int:
    with app.app_context():
        return bookings.make_delivery(body=f'{{"at": "{at.isoformat()}"}}'.encode(), received_at=at)


def check(app, now: datetime):  # type: ignore[no-untyped-def]
    with app.app_context():
        result = silence.check(now)
        db.session.remove()
    return result


def episodes(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(SilenceEpisode.id))).scalar_one()


def test_quiet_without_clicks_and_before_the_threshold(app, link_id, told):
    assert check(app, T0)[0].alarming is False  # nothing at all
    notify(app, T0)
    click(app, link_id, T0 + H)
    # 23 h 59 min after the click: the invitee may still be booking.
    assert check(app, T0 + 25 * H - timedelta(minutes=1))[0].alarming is False
    state, started = check(app, T0 + 25 * H)
    assert state.alarming and started
    assert told and episodes(app) == 1


def test_figures_count_person_clicks_since_the_newest_notification(app, link_id, told):
    click(app, link_id, T0 - 2 * H)  # before the notification: answered, not counted
    notify(app, T0)
    click(app, link_id, T0 + 2 * H)
    click(app, link_id, T0 + 3 * H)
    for agent in ("bot", "preview", "head"):  # scanners and previews are not people
        click(app, link_id, T0 + 2 * H, agent_class=agent)
    state, _ = check(app, T0 + 30 * H)
    assert (state.alarming, state.hours_silent, state.clicks) == (True, 30, 2)
    assert state.last_notification_at == T0 and state.silent_since == T0


def test_bot_clicks_alone_never_raise_it(app, link_id, told):
    notify(app, T0)
    click(app, link_id, T0 + H, agent_class="bot")
    click(app, link_id, T0 + H, agent_class="preview")
    assert check(app, T0 + 100 * H)[0].alarming is False
    assert told == []


def test_never_any_notification_counts_from_the_first_click(app, link_id, told):
    click(app, link_id, T0)
    click(app, link_id, T0 + 5 * H)
    state, started = check(app, T0 + 26 * H)
    assert started and state.last_notification_at is None
    assert (state.hours_silent, state.clicks, state.silent_since) == (26, 2, T0)


def test_admins_are_told_once_per_episode_and_again_after_a_new_silence(app, link_id, told):
    notify(app, T0)
    click(app, link_id, T0 + H)
    assert check(app, T0 + 25 * H)[1] is True
    assert check(app, T0 + 26 * H)[1] is False  # same episode, later
    click(app, link_id, T0 + 27 * H)
    assert check(app, T0 + 48 * H)[1] is False  # more clicks, still the same episode
    assert len(told) == 1
    emails, figures = told[0]
    assert emails == ["admin@example.com", "second@example.com"]  # active admins only
    assert (figures.hours_silent, figures.clicks) == (25, 1)

    notify(app, T0 + 49 * H)  # the episode ends
    state, started = check(app, T0 + 50 * H)
    assert state.alarming is False and started is False
    click(app, link_id, T0 + 51 * H)
    state, started = check(app, T0 + 75 * H)
    assert started and (state.hours_silent, state.clicks) == (26, 1)
    assert len(told) == 2 and episodes(app) == 2


def test_a_second_server_that_loses_the_race_tells_nobody(app, link_id, told, monkeypatch):
    notify(app, T0)
    click(app, link_id, T0 + H)
    assert check(app, T0 + 25 * H)[1] is True
    # Another server evaluated before this one's row was visible: the unique key refuses it.
    monkeypatch.setattr(silence, "episode_recorded", lambda _delivery_id: False)
    assert check(app, T0 + 25 * H)[1] is False
    assert len(told) == 1 and episodes(app) == 1


def test_a_failing_hook_records_no_episode_so_the_next_check_retries(app, link_id):
    notify(app, T0)
    click(app, link_id, T0 + H)
    failures = []

    def broken(_admins, _figures):  # type: ignore[no-untyped-def]
        failures.append(1)
        raise RuntimeError("mail server down")

    silence.set_episode_hook(app, broken)
    with pytest.raises(RuntimeError):
        check(app, T0 + 25 * H)
    assert episodes(app) == 0
    silence.set_episode_hook(app, lambda _admins, _figures: None)
    assert check(app, T0 + 26 * H)[1] is True
    assert failures == [1] and episodes(app) == 1


def test_the_default_hook_logs_the_figures(app, link_id, caplog):
    notify(app, T0)
    click(app, link_id, T0 + H)
    with caplog.at_level("WARNING", logger="webapp.alerts.silence"):
        check(app, T0 + 25 * H)
    assert "no Cronofy notification for 25 hours" in caplog.text
    assert "clicked tracked links 1 times" in caplog.text


def test_the_threshold_is_configurable(app_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("ALERT_SILENCE_HOURS", "6")
    app = app_factory()
    assert app.config["ALERT_SILENCE_HOURS"] == 6
    with app.app_context():
        staff = factories.make_user(email="s@example.com")
        link = factories.make_tracked_link(factories.make_public_link(owner_id=staff.id).id).id
    click(app, link, T0)
    assert check(app, T0 + 5 * H)[0].alarming is False
    assert check(app, T0 + 6 * H)[0].alarming is True
    monkeypatch.delenv("ALERT_SILENCE_HOURS")
    assert create_app({"INSTANCE_PATH": str(tmp_path / "i2")}).config["ALERT_SILENCE_HOURS"] == 24
    with pytest.raises(ConfigError, match="ALERT_SILENCE_HOURS"):
        create_app({"INSTANCE_PATH": str(tmp_path / "i3"), "ALERT_SILENCE_HOURS": 0})


def test_cli_reports_and_tells_once(app, link_id, told, runner):
    ok = runner.invoke(args=["alerts", "check-silence"])
    assert ok.exit_code == 0 and ok.output.startswith("ok: last notification never")
    now = datetime.now(UTC)
    notify(app, now - 40 * H)
    click(app, link_id, now - 30 * H)
    first = runner.invoke(args=["alerts", "check-silence"])
    assert first.exit_code == 1
    assert "no Cronofy notification for 40 hours" in first.output
    assert "1 person click(s)" in first.output and "Admins told now." in first.output
    again = runner.invoke(args=["alerts", "check-silence"])
    assert again.exit_code == 1 and "Admins were told when it began." in again.output
    assert len(told) == 1
