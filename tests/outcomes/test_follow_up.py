"""Follow-up lists (clicked, not booked; not clicked; booked) through the API and the page,
and the actions on a selection of links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.outcomes import data
from tests.support import factories
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import AuditEvent, TrackedLink, User, utcnow


@pytest.fixture
def links(app, admin, staff):
    """fresh: clicked 2 h ago; stale: clicked 3 days ago; bot: only a link preview;
    never: untouched; booked: clicked and booked; asked: clicked, a request declined;
    staffs: staff's own, clicked 2 days ago."""
    now = utcnow()
    with app.app_context():
        public = factories.make_public_link(admin.id)
        made = {
            name: factories.make_tracked_link(public.id, f"cand-{name}", owner).id
            for name, owner in [
                ("fresh", admin.id),
                ("stale", admin.id),
                ("bot", admin.id),
                ("never", admin.id),
                ("booked", admin.id),
                ("asked", admin.id),
                ("staffs", staff.id),
            ]
        }
        data.visit(app, made["fresh"], now - timedelta(hours=2))
        data.visit(app, made["stale"], now - timedelta(days=3, hours=1))
        data.visit(app, made["stale"], now - timedelta(days=3))
        data.visit(app, made["bot"], now - timedelta(days=3), "preview")
        data.visit(app, made["booked"], now - timedelta(days=4))
        data.request(made["booked"], "time_chosen", now - timedelta(days=4))
        data.visit(app, made["asked"], now - timedelta(days=5))
        data.request(made["asked"], "declined", now - timedelta(days=5))
        data.visit(app, made["staffs"], now - timedelta(days=2))
        data.request(made["stale"], "time_chosen", now, srq="srq_test_0000aaaa1111")  # a test
    return made


def api(app, client, user_id, query=""):
    with app.app_context():
        token = issue_token(db.session.get(User, user_id), "t")
    return client.get(f"/api/v1/tracked-links{query}", headers={"Authorization": f"Bearer {token}"})


def names(links, items):
    by_id = {link_id: name for name, link_id in links.items()}
    return sorted(by_id[item["id"]] for item in items)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?state=clicked_not_booked", ["fresh", "staffs", "stale"]),
        ("?state=clicked_not_booked&idle_hours=24", ["staffs", "stale"]),
        ("?state=clicked_not_booked&idle_hours=60", ["stale"]),
        ("?state=clicked_not_booked&idle_hours=0", ["fresh", "staffs", "stale"]),
        ("?state=not_clicked", ["bot", "never"]),
        ("?state=booked", ["booked"]),
        ("", ["asked", "booked", "bot", "fresh", "never", "staffs", "stale"]),
    ],
)
def test_the_api_lists_each_state(app, client, admin, links, query, expected):
    answer = api(app, client, admin.id, query)
    assert answer.status_code == 200, answer.json
    assert names(links, answer.json["items"]) == expected


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("?state=lost", {"state"}),
        ("?idle_hours=-1", {"idle_hours"}),
        ("?idle_hours=x&state=y", {"idle_hours", "state"}),
    ],
)
def test_the_api_refuses_bad_states(app, client, admin, links, query, fields):
    answer = api(app, client, admin.id, query)
    assert answer.status_code == 422
    assert set(answer.json["error"]["fields"]) == fields


def rows(client, query):
    html = client.get(f"/links{query}").get_data(as_text=True)
    return sorted(re.findall(r">cand-(\w+)</a>", html)), html


def test_the_page_waits_24_hours_by_default(client, auth, links):
    auth.login()
    shown, html = rows(client, "?owner=all&state=clicked_not_booked")
    assert shown == ["staffs", "stale"]
    assert 'name="idle_hours" value="24"' in html
    assert "the last click was more than 24 hours ago" in html
    assert "1 more was clicked in the last 24 hours: show it too" in html
    assert rows(client, "?owner=all&state=clicked_not_booked&idle_hours=0")[0] == [
        "fresh",
        "staffs",
        "stale",
    ]
    assert rows(client, "?owner=mine&state=clicked_not_booked")[0] == ["stale"]
    assert rows(client, "?owner=all&state=not_clicked")[0] == ["bot", "never"]
    assert rows(client, "?owner=all&state=booked")[0] == ["booked"]


def test_the_follow_up_export_has_the_same_links(client, auth, links):
    auth.login()
    export = client.get("/links/export.csv?owner=all&state=clicked_not_booked").get_data(
        as_text=True
    )
    assert sorted(re.findall(r"^cand-(\w+),", export, re.M)) == ["staffs", "stale"]
    assert "last_clicked_at,booking_status" in export.splitlines()[0]


def test_nobody_to_follow_up(client, auth, app, admin):
    auth.login()
    html = client.get("/links?owner=all&state=clicked_not_booked").get_data(as_text=True)
    assert "Nobody to follow up" in html


def select_(client, action, ids, **fields):
    return client.post(
        "/links/selected",
        data={"action": action, "ids": [str(i) for i in ids], "next": "/links?owner=all", **fields},
    )


def test_disabling_a_selection_is_confirmed_first(app, client, auth, links):
    auth.login()
    chosen = [links["stale"], links["fresh"]]
    page = select_(client, "disable", chosen)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Disable 2 tracked links?" in html and "cand-stale" in html
    with app.app_context():
        assert all(db.session.get(TrackedLink, i).disabled_at is None for i in chosen)
    done = select_(client, "disable", chosen, confirm="1")
    assert done.status_code == 303 and done.headers["Location"] == "/links?owner=all"
    with app.app_context():
        assert all(db.session.get(TrackedLink, i).disabled_at is not None for i in chosen)
        entries = (
            db.session.execute(
                select(AuditEvent.target_id).where(AuditEvent.action == "tracked_link.disabled")
            )
            .scalars()
            .all()
        )
    assert sorted(entries) == sorted(chosen)


def test_staff_change_only_their_own_links(app, client, auth, links):
    auth.login("staff@example.com")
    select_(client, "extend_expiry", [links["staffs"], links["stale"]], days="7")
    page = client.get("/links").get_data(as_text=True)
    assert "1 tracked link given a later expiry." in page
    assert "someone else&#39;s" in page or "someone else's" in page
    with app.app_context():
        assert db.session.get(TrackedLink, links["stale"]).expires_at is None
        extended = db.session.get(TrackedLink, links["staffs"]).expires_at
    assert timedelta(days=6, hours=23) < extended - utcnow() <= timedelta(days=7)


def test_set_expiry_takes_local_time(app, client, auth, links):
    with app.app_context():
        db.session.get(User, 1).time_zone = "Asia/Kolkata"
        db.session.commit()
    auth.login()
    answer = select_(client, "set_expiry", [links["never"]], expires_at="2099-01-01T05:30")
    assert answer.status_code == 303
    with app.app_context():
        expiry = db.session.get(TrackedLink, links["never"]).expires_at
    assert expiry.isoformat() == "2099-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("set_expiry", {"expires_at": "2001-01-01T00:00"}, "Choose an expiry in the future"),
        ("set_expiry", {"expires_at": "soon"}, "Expiry is not a date and time"),
        ("extend_expiry", {"days": "0"}, "Extend by a whole number of days"),
        ("launch", {}, "Choose what to do"),
    ],
)
def test_bad_bulk_input_is_explained(client, auth, links, action, fields, message):
    auth.login()
    select_(client, action, [links["never"]], **fields)
    assert message in client.get("/links").get_data(as_text=True)


def test_nothing_selected(client, auth, links):
    auth.login()
    client.post("/links/selected", data={"action": "disable", "next": "/links"})
    assert "Select at least one tracked link." in client.get("/links").get_data(as_text=True)
