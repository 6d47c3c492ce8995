"""The silence alarm where people see it: the admins' banner, staff page views, /healthz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.support import bookings, factories
from tests.support.config import make_test_config
from tests.support.signin import sign_in
from webapp import create_app
from webapp.alerts import silence
from webapp.extensions import db
from webapp.models import SilenceEpisode, Visit

H = timedelta(hours=1)
BANNER = 'id="silence-alarm"'


@pytest.fixture
def app(app_factory):
    return app_factory(
        ALERT_SILENCE_CACHE_SECONDS=0,
        PUBLIC_BASE_URL="https://links.example.com",
        TRUSTED_HOSTS="links.example.com,localhost",  # the test client is localhost
    )


@pytest.fixture
def told(app):
    calls: list[int] = []
    silence.set_episode_hook(app, lambda admins, figures: calls.append(figures.clicks))
    return calls


@pytest.fixture
def link_id(app):
    with app.app_context():
        factories.make_user(email="admin@example.com", role="admin")
        staff = factories.make_user(email="staff@example.com", role="staff")
        return factories.make_tracked_link(factories.make_public_link(owner_id=staff.id).id).id


def silent_for(app, link_id, hours: int, clicks: int = 3) -> None:
    now = datetime.now(UTC)
    with app.app_context():
        bookings.make_delivery(body=b'{"old": 1}', received_at=now - hours * H)
        for minute in range(clicks):
            db.session.add(
                Visit(
                    tracked_link_id=link_id,
                    at=now - (hours - 1) * H + timedelta(minutes=minute),
                    agent_class="human",
                    outcome="redirect",
                )
            )
        db.session.commit()


def test_admins_see_both_figures_and_what_to_check(app, link_id, told):
    silent_for(app, link_id, hours=30, clicks=3)
    admin = sign_in(app.test_client(), "admin@example.com")
    page = admin.get("/").get_data(as_text=True)
    assert BANNER in page
    banner = page[page.index(BANNER) : page.index("</div>", page.index(BANNER))]
    text = " ".join(banner.split())
    assert "No notification from Cronofy for 30 hours" in text
    assert "tracked links were clicked 3 times since" in text
    assert 'href="/alerts/silence"' in text  # one line; what to check is on its own page
    assert told == [3]  # the page view noticed the episode and told the admins once

    details = " ".join(admin.get("/alerts/silence").get_data(as_text=True).split())
    assert "Embed webhook callback URL" in details
    assert "https://links.example.com/webhooks/cronofy" in details
    assert "CRONOFY_CLIENT_SECRET" in details
    assert ">30</span>" in details and ">3</span>" in details  # the figures
    assert "Past silences" in details and ">Silent<" in details


def test_the_details_page_says_all_is_well_without_a_silence(app, link_id):
    admin = sign_in(app.test_client(), "admin@example.com")
    page = admin.get("/alerts/silence").get_data(as_text=True)
    assert ">All well<" in page and "None so far" in page
    assert BANNER not in page
    staff = sign_in(app.test_client(), "staff@example.com")
    assert staff.get("/alerts/silence").status_code == 403


def test_the_banner_says_when_no_notification_ever_arrived(app, link_id, told):
    with app.app_context():
        db.session.add(
            Visit(
                tracked_link_id=link_id,
                at=datetime.now(UTC) - 26 * H,
                agent_class="human",
                outcome="redirect",
            )
        )
        db.session.commit()
    page = sign_in(app.test_client(), "admin@example.com").get("/").get_data(as_text=True)
    text = " ".join(page[page.index(BANNER) :].split())
    assert "No notification from Cronofy yet" in text
    assert "clicked 1 time in 26 hours" in text


def test_staff_do_not_see_it_but_their_page_views_still_notice_the_episode(app, link_id, told):
    silent_for(app, link_id, hours=30)
    page = sign_in(app.test_client(), "staff@example.com").get("/links").get_data(as_text=True)
    assert BANNER not in page
    assert told == [3]
    with app.app_context():
        assert db.session.execute(select(func.count(SilenceEpisode.id))).scalar_one() == 1


def test_no_banner_while_notifications_arrive(app, link_id, told):
    silent_for(app, link_id, hours=30)
    admin = sign_in(app.test_client(), "admin@example.com")
    assert BANNER in admin.get("/").get_data(as_text=True)
    with app.app_context():
        bookings.make_delivery(body=b'{"new": 1}')
    assert BANNER not in admin.get("/").get_data(as_text=True)
    assert told == [3]


def test_a_failing_hook_does_not_break_the_page(app, link_id):
    def broken(_admins, _figures):  # type: ignore[no-untyped-def]
        raise RuntimeError("mail server down")

    silence.set_episode_hook(app, broken)
    silent_for(app, link_id, hours=30)
    response = sign_in(app.test_client(), "admin@example.com").get("/")
    assert response.status_code == 200 and BANNER in response.get_data(as_text=True)


def test_the_hot_paths_do_not_check(app, link_id, told):
    silent_for(app, link_id, hours=30)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    client.get("/api/v1/tracked-links")
    assert told == []


def test_the_state_is_cached_per_process(app_factory, link_id):
    cached = app_factory(ALERT_SILENCE_CACHE_SECONDS=3600)
    admin = sign_in(cached.test_client(), "admin@example.com")
    assert BANNER not in admin.get("/").get_data(as_text=True)
    silent_for(cached, link_id, hours=30)
    assert BANNER not in admin.get("/").get_data(as_text=True)  # the cached "all well"
    cached.extensions["webapp.alerts.silence_cache"].clear()
    assert BANNER in admin.get("/").get_data(as_text=True)


def test_healthz_reports_the_last_notification(app, link_id):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok", "last_notification_at": None}
    at = datetime(2026, 5, 4, 8, 30, 15, 123456, tzinfo=UTC)
    with app.app_context():
        bookings.make_delivery(body=b'{"a": 1}', received_at=at)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "last_notification_at": "2026-05-04T08:30:15Z"}


def test_healthz_still_answers_503_without_a_database(tmp_path):
    missing = tmp_path / "gone" / "db.sqlite3"  # SQLite cannot open (or create) it
    broken = create_app(make_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}"))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert response.get_json()["last_notification_at"] is None
