"""Each person's time zone: chosen on the account page or offered from the browser, and
every time they read shown in it (the API and exports stay UTC)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.support import factories
from webapp.extensions import db
from webapp.links.validation import InvalidValue, local_time_parser
from webapp.localtime import exact_time, friendly_time, meeting_span, short_time
from webapp.models import TrackedLink, User
from webapp.timezones import day_bounds, is_zone, local_midnight, zone_choices, zone_label

LA, KOLKATA = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Kolkata")
MOMENT = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)


def zone_of(app, email="admin@example.com"):
    with app.app_context():
        return db.session.execute(select(User.time_zone).where(User.email == email)).scalar_one()


def test_the_account_page_sets_a_zone(app, client, auth, admin):
    auth.login()
    page = client.get("/account").get_data(as_text=True)
    assert 'id="time-zone"' in page and '<option value="Asia/Kolkata"' in page
    answer = client.post("/account/time-zone", data={"time_zone": "Asia/Kolkata"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/account#time-zone"
    assert zone_of(app) == "Asia/Kolkata"
    assert '<option value="Asia/Kolkata" selected>' in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "America", "localtime", "../etc/passwd", "", "a\x00b"]
)
def test_only_real_zones_are_accepted(app, client, auth, admin, name):
    auth.login()
    answer = client.post("/account/time-zone", data={"time_zone": name})
    assert answer.status_code == 422
    assert 'id="e-time_zone"' in answer.get_data(as_text=True)
    assert zone_of(app) is None


def test_the_browser_zone_is_offered_until_one_is_chosen(app, client, auth, admin):
    auth.login()
    page = client.get("/links").get_data(as_text=True)
    assert "data-tz-offer" in page and "js/timezone.js" in page
    answer = client.post(
        "/account/time-zone", data={"time_zone": "America/Los_Angeles", "next": "/links?q=x"}
    )
    assert answer.headers["Location"] == "/links?q=x"  # back where the offer was accepted
    assert "data-tz-offer" not in client.get("/links").get_data(as_text=True)


def test_old_names_browsers_report_are_saved_by_todays_name(app, client, auth, admin):
    auth.login()
    client.post("/account/time-zone", data={"time_zone": "Asia/Calcutta"})
    assert zone_of(app) == "Asia/Kolkata"
    client.post("/account/time-zone", data={"time_zone": "Etc/UTC"})
    assert zone_of(app) == "UTC"


def test_keeping_utc_is_a_choice_too(app, client, auth, admin):
    auth.login()
    client.post("/account/time-zone", data={"time_zone": "UTC", "next": "/"})
    assert zone_of(app) == "UTC"
    assert "data-tz-offer" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("zone", "exact", "friendly", "span", "short"),
    [
        (
            LA,
            "2026-03-03 06:30:00 PST",
            "Tue 3 Mar 2026, 06:30 PST",
            "Tue 3 Mar 2026, 06:30–07:00 PST",
            "3 Mar, 06:30",
        ),
        (
            KOLKATA,
            "2026-03-03 20:00:00 IST",
            "Tue 3 Mar 2026, 20:00 IST",
            "Tue 3 Mar 2026, 20:00–20:30 IST",
            "3 Mar, 20:00",
        ),
        (
            UTC,
            "2026-03-03 14:30:00 UTC",
            "Tue 3 Mar 2026, 14:30 UTC",
            "Tue 3 Mar 2026, 14:30–15:00 UTC",
            "3 Mar, 14:30",
        ),
    ],
)
def test_the_filters_write_local_times(zone, exact, friendly, span, short):
    end = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert exact_time(MOMENT, zone) == exact
    assert friendly_time(MOMENT, zone) == friendly
    assert meeting_span(MOMENT, end, zone) == span
    assert short_time(MOMENT, zone).startswith(short)


def test_a_meeting_over_midnight_names_both_days():
    end = datetime(2026, 3, 3, 19, 0, tzinfo=UTC)  # 00:30 on the 4th in Kolkata
    assert (
        meeting_span(MOMENT, end, KOLKATA)
        == "Tue 3 Mar 2026, 20:00 IST to Wed 4 Mar 2026, 00:30 IST"
    )


@pytest.mark.parametrize(
    ("zone", "expected"), [("America/Los_Angeles", "PDT"), ("Asia/Kathmandu", "UTC+05:45")]
)
def test_zone_labels(zone, expected):
    assert zone_label(datetime(2026, 7, 1, tzinfo=UTC).astimezone(ZoneInfo(zone))) == expected


def test_local_days_and_zones():
    assert local_midnight(date(2026, 3, 1), KOLKATA) == datetime(2026, 2, 28, 18, 30, tzinfo=UTC)
    # Clocks go forward at 02:00 on 8 March 2026 in Los Angeles: that day has 23 hours.
    start, end = day_bounds(date(2026, 3, 8), date(2026, 3, 8), LA)
    assert (end - start).total_seconds() == 23 * 3600
    # Santiago moved its clocks at midnight on 8 September 2024: the day starts at 01:00.
    assert local_midnight(date(2024, 9, 8), ZoneInfo("America/Santiago")) == datetime(
        2024, 9, 8, 4, tzinfo=UTC
    )
    assert is_zone("Europe/Paris") and not is_zone("Europe") and not is_zone(None)
    regions = dict(zone_choices())
    assert "Asia/Kolkata" in regions["Asia"] and regions["UTC"] == ("UTC",)
    assert not any(name.startswith("Etc/") for names in regions.values() for name in names)


def test_the_expiry_field_reads_local_time():
    parse = local_time_parser(KOLKATA, "Asia/Kolkata")
    assert parse("2030-01-31T17:00") == datetime(2030, 1, 31, 11, 30, tzinfo=UTC)
    assert parse("") is None
    with pytest.raises(InvalidValue, match="in Asia/Kolkata"):
        parse("31/01/2030")


def test_the_link_forms_take_and_show_expiry_in_the_persons_zone(app, client, auth, admin):
    with app.app_context():
        db.session.get(User, admin.id).time_zone = "America/Los_Angeles"
        db.session.commit()
        public = factories.make_public_link(admin.id)
    auth.login()
    form = client.get("/links/new").get_data(as_text=True)
    assert "Expires at (America/Los Angeles)" in form
    created = client.post(
        "/links/new",
        data={
            "public_link_id": str(public.id),
            "correlation_id": "cand-tz",
            "expires_at": "2099-07-01T09:00",
        },
    )
    assert created.status_code == 302
    with app.app_context():
        link = db.session.execute(
            select(TrackedLink).where(TrackedLink.correlation_id == "cand-tz")
        ).scalar_one()
        assert link.expires_at == datetime(2099, 7, 1, 16, 0, tzinfo=UTC)  # PDT is UTC-7
        link_id = link.id
    edit = client.get(f"/links/{link_id}/edit").get_data(as_text=True)
    assert 'value="2099-07-01T09:00"' in edit
    detail = client.get(f"/links/{link_id}").get_data(as_text=True)
    assert "Wed 1 Jul 2099, 09:00 PDT" in detail


def test_the_api_stays_utc_whatever_the_zone(app, client, admin):
    from webapp.auth.api_tokens import issue_token

    with app.app_context():
        user = db.session.get(User, admin.id)
        user.time_zone = "Asia/Kolkata"
        public = factories.make_public_link(admin.id)
        factories.make_tracked_link(public.id, "cand-api", admin.id, created_at=MOMENT)
        token = issue_token(user, "t")
    item = client.get("/api/v1/tracked-links", headers={"Authorization": f"Bearer {token}"}).json[
        "items"
    ][0]
    assert item["created_at"] == "2026-03-03T14:30:00Z"


def test_the_timeline_and_list_show_local_times(app, client, auth, admin):
    with app.app_context():
        db.session.get(User, admin.id).time_zone = "Asia/Kolkata"
        db.session.commit()
        public = factories.make_public_link(admin.id)
        link = factories.make_tracked_link(public.id, "cand-time", admin.id, created_at=MOMENT)
        link_id = link.id
    auth.login()
    detail = client.get(f"/links/{link_id}").get_data(as_text=True)
    assert re.search(r'id="created".*?title="2026-03-03 20:00:00 IST"', detail, re.S)
    listing = client.get("/links?owner=all").get_data(as_text=True)
    assert 'title="2026-03-03 20:00:00 IST"' in listing
