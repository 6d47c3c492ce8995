"""JSON API: /api/v1/scheduling-requests list (filters, cursor pages) and detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from tests.support import factories
from tests.support.bookings import add_notification, make_delivery, make_request
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User

ITEM_KEYS = {
    "scheduling_request_id",
    "status",
    "correlation_id",
    "tracked_link_id",
    "public_link_id",
    "summary",
    "recipients",
    "duration_minutes",
    "slot_selection",
    "dashboard_url",
    "captured_data",
    "utm",
    "notification_count",
    "first_notified_at",
    "updated_at",
    "event_start",  # the meeting (issue 11), ISO-8601 UTC or null
    "event_end",
}
BASE = datetime(2025, 1, 19, 16, 0, tzinfo=UTC)


@pytest.fixture
def headers(app, staff):
    with app.app_context():
        token = issue_token(db.session.get(User, staff.id), "tests")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def data(app, staff):
    with app.app_context():
        public_link = factories.make_public_link(owner_id=staff.id)
        other_link = factories.make_public_link(owner_id=staff.id, name="Demos")
        link = factories.make_tracked_link(public_link.id, "cand-001", created_by_id=staff.id)
        other = factories.make_tracked_link(other_link.id, "deal-9", created_by_id=staff.id)
        booked = make_request(
            "srq_80f7fece4f37897d62d86d80",
            tracked_link=link,
            captured_data={"phone_number": "0118"},
            utm={"utm_source": "mail"},
            updated_at=BASE + timedelta(hours=2),
        )
        add_notification(booked.scheduling_request_id, "scheduling_request_time_chosen")
        declined = make_request(tracked_link=other, status="declined", updated_at=BASE)
        stray = make_request(correlation_id="stray", updated_at=BASE + timedelta(hours=1))
        ids = {"public_link": public_link.id, "other_link": other_link.id, "link": link.id}
    return {"booked": booked, "declined": declined, "stray": stray, **ids}


def test_token_required(client):
    response = client.get("/api/v1/scheduling-requests")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    bad = client.get("/api/v1/scheduling-requests/x", headers={"Authorization": "Bearer plk_x"})
    assert bad.status_code == 401


def test_list_newest_first_with_the_documented_shape(client, headers, data):
    body = client.get("/api/v1/scheduling-requests", headers=headers).get_json()
    assert body["next_cursor"] is None
    ids = [item["scheduling_request_id"] for item in body["items"]]
    expected = [data[name].scheduling_request_id for name in ("booked", "stray", "declined")]
    assert ids == expected
    item = body["items"][0]
    assert set(item) == ITEM_KEYS
    assert item["status"] == "time_chosen"
    assert item["correlation_id"] == "cand-001"
    assert item["tracked_link_id"] == data["link"]
    assert item["public_link_id"] == data["public_link"]
    assert item["recipients"][0]["email"] == "eb@example.com"
    assert item["duration_minutes"] == 30 and item["slot_selection"] == "complete"
    assert item["captured_data"] == {"phone_number": "0118"}
    assert item["utm"] == {"utm_source": "mail"}
    assert item["notification_count"] == 2
    assert item["updated_at"].endswith("Z") and item["first_notified_at"] == "2025-01-19T18:00:00Z"
    stray = body["items"][1]
    assert stray["tracked_link_id"] is None and stray["correlation_id"] == "stray"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("correlation_id=cand-001", ["booked"]),
        ("correlation_id=stray", ["stray"]),
        ("correlation_id=nobody", []),
        ("status=declined", ["declined"]),
        # booked was updated "now" by its second notification: newer than any of these
        ("updated_since=2025-01-19T17:00:00Z", ["booked", "stray"]),
        ("updated_since=2025-01-19T18:00:00%2B01:00", ["booked", "stray"]),
        ("updated_since=2025-01-19T17:30:00Z", ["booked"]),
        ("status=time_chosen&updated_since=2025-01-19T15:00:00Z", ["booked", "stray"]),
    ],
)
def test_list_filters(client, headers, data, query, expected):
    items = client.get(f"/api/v1/scheduling-requests?{query}", headers=headers).get_json()["items"]
    got = [item["scheduling_request_id"] for item in items]
    assert got == [data[name].scheduling_request_id for name in expected]


def test_public_link_filter(client, headers, data):
    url = f"/api/v1/scheduling-requests?public_link_id={data['other_link']}"
    items = client.get(url, headers=headers).get_json()["items"]
    assert [item["scheduling_request_id"] for item in items] == [
        data["declined"].scheduling_request_id
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2025-01-19T17:00:00", "updated_since"),
        ("public_link_id=abc", "public_link_id"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("status=", "status"),
    ],
)
def test_invalid_queries_are_422_with_fields(client, headers, data, query, field):
    response = client.get(f"/api/v1/scheduling-requests?{query}", headers=headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


def test_cursor_pages_cover_everything_once(app, client, headers):
    with app.app_context():
        made = {
            make_request(updated_at=BASE - timedelta(minutes=n // 2)).scheduling_request_id
            for n in range(11)
        }
    seen: list[str] = []
    url = "/api/v1/scheduling-requests?limit=4"
    pages = 0
    while url:
        body = client.get(url, headers=headers).get_json()
        assert len(body["items"]) <= 4
        seen += [item["scheduling_request_id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        url = f"/api/v1/scheduling-requests?limit=4&cursor={quote(cursor)}" if cursor else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 11 and set(seen) == made


def test_detail_with_notifications(app, client, headers, data):
    srq = data["booked"].scheduling_request_id
    with app.app_context():
        make_delivery(body=b"oops", status="failed", error="bad JSON", scheduling_request_id=srq)
    response = client.get(f"/api/v1/scheduling-requests/{srq}", headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == ITEM_KEYS | {"notifications"}
    notes = body["notifications"]
    assert len(notes) == 3
    assert set(notes[0]) == {
        "type",
        "triggered_at",
        "received_at",
        "status",
        "error",
        "payload",
        "payload_removed_at",
    }
    assert notes[0]["type"] == "scheduling_request_time_chosen"
    assert notes[0]["status"] == "applied" and notes[0]["error"] is None
    assert notes[0]["payload"]["scheduling_request"]["scheduling_request_id"] == srq
    assert notes[0]["triggered_at"].endswith("Z")
    assert notes[2]["payload"] is None and notes[2]["error"] == "bad JSON"
    assert notes[2]["status"] == "failed" and notes[2]["triggered_at"] is None


def test_unknown_detail_is_json_404(client, headers):
    response = client.get("/api/v1/scheduling-requests/srq_unknown", headers=headers)
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"
