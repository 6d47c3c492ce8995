"""The requests table and API with meeting times, test notifications and the tiles."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.outcomes import data
from tests.support import bookings, factories
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.meetings import fill
from webapp.models import AuditEvent, Delivery, SchedulingRequest, TrackedLink, User, utcnow
from webapp.models.bookings import SchedulingRequestTerm

MEETING = "2026-03-03T14:30:00Z"  # 06:30 PST, 20:00 IST


def set_zone(app, email: str, zone: str | None) -> None:
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        user.time_zone = zone
        db.session.commit()


def make(app, srq=None, start=MEETING, end="2026-03-03T15:00:00Z", **kw) -> str:
    with app.app_context():
        ref = bookings.make_request(srq, event_start=start, event_end=end, **kw)
        fill(db.session.get(SchedulingRequest, ref.id))  # what the receiver's fold does
        db.session.commit()
        return ref.scheduling_request_id


@pytest.mark.parametrize(
    ("zone", "cell", "tooltip"),
    [
        ("America/Los_Angeles", "3 Mar, 06:30", "Tue 3 Mar 2026, 06:30–07:00 PST"),
        ("Asia/Kolkata", "3 Mar, 20:00", "Tue 3 Mar 2026, 20:00–20:30 IST"),
        (None, "3 Mar, 14:30", "Tue 3 Mar 2026, 14:30–15:00 UTC"),
    ],
)
def test_meeting_times_in_the_viewers_zone(app, client, admin, auth, zone, cell, tooltip):
    set_zone(app, "admin@example.com", zone)
    srq = make(app)
    auth.login()
    html = client.get("/").get_data(as_text=True)
    row = re.search(rf'<tr data-srq="{srq}".*?</tr>', html, re.S).group(0)
    meeting = re.search(
        r'data-label="Meeting"><time datetime="([^"]+)" title="([^"]+)">([^<]+)<', row
    )
    assert meeting.groups() == ("2026-03-03T14:30:00Z", tooltip, cell)
    detail = client.get(f"/requests/{srq}").get_data(as_text=True)
    assert tooltip in detail


def test_the_tooltips_of_relative_times_are_local(app, client, admin, auth):
    set_zone(app, "admin@example.com", "Asia/Kolkata")
    with app.app_context():
        ref = bookings.make_request(updated_at=datetime(2026, 1, 15, 6, 30, tzinfo=UTC))
    auth.login()
    html = client.get("/").get_data(as_text=True)
    assert 'title="2026-01-15 12:00:00 IST" data-relative>' in html
    detail = client.get(f"/requests/{ref.scheduling_request_id}").get_data(as_text=True)
    assert "2026-01-15 12:00:00 IST" in detail


def test_upcoming_meetings_first(app, client, admin, auth):
    now = utcnow()
    later = make(app, start=(now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"), end=None)
    soon = make(app, start=(now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), end=None)
    past = make(app, start=(now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"), end=None)
    declined = make(
        app,
        start=(now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=None,
        status="declined",
    )
    without = make(app, start=None, end=None)
    auth.login()
    html = client.get("/?sort=upcoming").get_data(as_text=True)
    order = re.findall(r'<tr data-srq="([^"]+)"', html)
    assert order == [soon, later]
    assert {past, declined, without}.isdisjoint(order)
    assert 'data-first-page="0"' in html  # the stream updates rows in place, never reorders
    newest = re.findall(r'<tr data-srq="([^"]+)"', client.get("/").get_data(as_text=True))
    assert set(newest) == {later, soon, past, declined, without}


def test_test_notifications_are_hidden_unless_asked_and_never_exported(app, client, admin, auth):
    real = make(app)
    test = make(app, "srq_test_00aa11bb22cc", correlation_id="test-00aa11bb22cc")
    auth.login()
    shown = re.findall(r'<tr data-srq="([^"]+)"', client.get("/").get_data(as_text=True))
    assert shown == [real]
    with_tests = client.get("/?tests=1").get_data(as_text=True)
    assert test in with_tests and ">test</span>" in with_tests
    export = client.get("/requests/export.csv?tests=1").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [row["scheduling_request_id"] for row in rows] == [real]
    assert (rows[0]["event_start"], rows[0]["event_end"]) == (
        "2026-03-03T14:30:00Z",
        "2026-03-03T15:00:00Z",
    )


def test_admins_delete_a_test_notification_with_an_audit_entry(app, client, admin, staff, auth):
    test = make(app, "srq_test_00aa11bb22cc", notifications=2)
    real = make(app)
    auth.login("staff@example.com")
    form = {"scheduling_request_id": test}
    assert client.post("/requests/test-notifications/delete", data=form).status_code == 403
    auth.logout()
    auth.login()
    page = client.get(f"/requests/{test}").get_data(as_text=True)
    assert "Delete test notification" in page and "data-confirm=" in page
    assert "Delete test notification" not in client.get(f"/requests/{real}").get_data(as_text=True)
    refused = client.post(
        "/requests/test-notifications/delete", data={"scheduling_request_id": real}
    )
    assert refused.status_code == 404
    answer = client.post("/requests/test-notifications/delete", data=form)
    assert answer.status_code == 303
    with app.app_context():
        left = db.session.execute(select(SchedulingRequest.scheduling_request_id)).scalars().all()
        deliveries = db.session.execute(
            select(func.count()).where(Delivery.scheduling_request_id == test)
        ).scalar_one()
        terms = db.session.execute(
            select(func.count()).select_from(SchedulingRequestTerm)
        ).scalar_one()
        entry = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "scheduling_request.test_deleted")
        ).scalar_one()
    assert left == [real] and deliveries == 0 and terms > 0
    assert (entry.actor_email, entry.target_name) == ("admin@example.com", test)
    assert entry.changes["deliveries"] == [2, 0]


def test_the_api_carries_the_meeting_in_utc(app, client, admin):
    with_meeting = make(app, start="2026-03-03T20:00:00+05:30", end="2026-03-03T20:30:00+05:30")
    without = make(app, start=None, end=None)
    with app.app_context():
        token = issue_token(db.session.get(User, admin.id), "t")
    headers = {"Authorization": f"Bearer {token}"}
    one = client.get(f"/api/v1/scheduling-requests/{with_meeting}", headers=headers).json
    assert (one["event_start"], one["event_end"]) == (
        "2026-03-03T14:30:00Z",
        "2026-03-03T15:00:00Z",
    )
    items = {
        i["scheduling_request_id"]: i
        for i in client.get("/api/v1/scheduling-requests", headers=headers).json["items"]
    }
    assert (items[without]["event_start"], items[without]["event_end"]) == (None, None)


def test_the_tiles_count_today_and_the_last_seven_days(app, client, admin, auth):
    set_zone(app, "admin@example.com", "Asia/Kolkata")
    now = utcnow()
    with app.app_context():
        owner = db.session.get(User, admin.id)
        public = factories.make_public_link(owner.id)
        link = factories.make_tracked_link(public.id, created_by_id=owner.id)
        other = factories.make_tracked_link(public.id, created_by_id=owner.id)
        for link_id, when, agent in [
            (link.id, now - timedelta(minutes=5), "human"),
            (link.id, now - timedelta(minutes=4), "human"),
            (other.id, now - timedelta(days=3), "human"),
            (other.id, now - timedelta(minutes=3), "bot"),
            (other.id, now - timedelta(days=9), "human"),
        ]:
            data.visit(app, link_id, when, agent)
        data.request(link.id, "time_chosen", now - timedelta(minutes=1))
        data.request(other.id, "declined", now - timedelta(days=2))
        data.request(None, "time_chosen", now - timedelta(days=4), correlation_id="nobody")
        data.request(None, "time_chosen", now - timedelta(minutes=2), srq="srq_test_abcdef012345")
    auth.login()
    for path in ("/", "/live/tiles"):
        html = client.get(path).get_data(as_text=True)
        figures = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html)
        assert figures == [
            ("Bookings", "1"),
            ("Person clicks", "2"),
            ("Conversion", "100%"),
            ("Bookings", "2"),
            ("Person clicks", "3"),
            ("Conversion", "50%"),
        ], path
        assert re.search(r'href="/\?match=unmatched"[^>]*>1<', html)


def test_unmatched_filter(app, client, admin, auth):
    matched_link = None
    with app.app_context():
        public = factories.make_public_link(admin.id)
        matched_link = factories.make_tracked_link(public.id, created_by_id=admin.id).id
    matched = make(app, tracked_link=None)  # unmatched
    with app.app_context():
        tied = bookings.make_request(
            tracked_link=db.session.get(TrackedLink, matched_link)
        ).scheduling_request_id
    auth.login()
    rows = re.findall(
        r'<tr data-srq="([^"]+)"', client.get("/?match=unmatched").get_data(as_text=True)
    )
    assert rows == [matched]
    rows = re.findall(
        r'<tr data-srq="([^"]+)"', client.get("/?match=matched").get_data(as_text=True)
    )
    assert rows == [tied]
