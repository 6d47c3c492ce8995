"""GET /api/v1/insights and the /insights page, checked against the hand-built data set."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.outcomes import data
from tests.support import factories
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User

RANGE = "from=2026-03-01&to=2026-03-05"


@pytest.fixture
def dataset(app):
    with app.app_context():
        return data.build(app)


@pytest.fixture
def headers(app, dataset):
    with app.app_context():
        token = issue_token(db.session.get(User, dataset.staff_id), "t")
    return {"Authorization": f"Bearer {token}"}


def test_totals_and_items_by_public_link(client, dataset, headers):
    answer = client.get(f"/api/v1/insights?group_by=public_link&{RANGE}", headers=headers)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["from"], body["to"], body["group_by"]) == (
        "2026-03-01",
        "2026-03-05",
        "public_link",
    )
    assert {k: body["totals"][k] for k in data.EXPECTED_UTC} == data.EXPECTED_UTC
    assert body["totals"]["median_seconds_to_book"] == data.MEDIAN_UTC
    # Most booked first, then most links.
    assert body["items"] == [
        {
            "key": dataset.pl1,
            "label": "Engineering",
            "links": 4,
            "clicked": 2,
            "booked": 1,
            "declined": 0,
            "conversion": 0.5,
        },
        {
            "key": dataset.pl2,
            "label": "Sales",
            "links": 2,
            "clicked": 2,
            "booked": 1,
            "declined": 1,
            "conversion": 0.5,
        },
    ]


def test_items_by_day_are_every_utc_day(client, dataset, headers):
    body = client.get(f"/api/v1/insights?group_by=day&{RANGE}", headers=headers).json
    assert [item["key"] for item in body["items"]] == [f"2026-03-0{n}" for n in range(1, 6)]
    assert [item["links"] for item in body["items"]] == [1, 1, 1, 1, 2]
    assert body["items"][1]["conversion"] is None  # 2 March: B was never clicked


def test_items_by_owner_and_campaign_with_filters(client, dataset, headers):
    owners = client.get(f"/api/v1/insights?group_by=owner&{RANGE}", headers=headers).json
    assert {(i["key"], i["label"], i["booked"]) for i in owners["items"]} == {
        (dataset.admin_id, "Ada Admin", 1),
        (dataset.staff_id, "Sam Staff", 1),
    }
    fall = client.get(
        f"/api/v1/insights?group_by=utm_campaign&{RANGE}&utm_campaign=fall&owner_id={dataset.staff_id}",
        headers=headers,
    ).json
    assert fall["items"] == [
        {
            "key": "fall",
            "label": "fall",
            "links": 1,
            "clicked": 1,
            "booked": 1,
            "declined": 0,
            "conversion": 1.0,
        }
    ]
    none = client.get(f"/api/v1/insights?group_by=utm_source&{RANGE}", headers=headers).json
    assert {
        "key": None,
        "label": "(none)",
        "links": 2,
        "clicked": 1,
        "booked": 0,
        "declined": 0,
        "conversion": 0.0,
    } in none["items"]


def test_the_default_is_the_last_30_days(client, dataset, headers):
    body = client.get("/api/v1/insights", headers=headers).json
    assert body["group_by"] == "public_link"
    assert body["totals"]["links"] == 0  # the data set is in March 2026; today is later


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("group_by=colour", {"group_by"}),
        ("from=2026-02-30", {"from"}),
        ("from=2026-03-05&to=2026-03-01", {"to"}),
        ("public_link_id=abc&owner_id=0", {"public_link_id", "owner_id"}),
    ],
)
def test_bad_queries_answer_422_with_fields(client, headers, query, fields):
    answer = client.get(f"/api/v1/insights?{query}", headers=headers)
    assert answer.status_code == 422
    assert set(answer.json["error"]["fields"]) == fields


def test_a_token_is_required(client):
    assert client.get("/api/v1/insights").status_code == 401


def test_the_page_shows_the_figures_and_charts(client, auth, dataset):
    auth.login("staff@example.com")
    page = client.get(f"/insights?{RANGE}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    stats = re.findall(r'<span class="stat-value">([^<]+)</span>', html)
    assert stats == ["6", "4", "2", "1", "50%", "13 h 0 min"]
    assert html.count('<svg class="chart-svg"') == 2
    assert 'role="img"' in html and "style=" not in html.split("<main", 1)[1]
    # The funnel's table, for screen readers, has the same numbers as its bars.
    assert re.search(
        r"<th scope=\"row\">Booked</th><td class=\"num\">2</td><td class=\"num\">33%</td>", html
    )
    for tab in ("Public Link", "Owner", "Campaign", "Source", "Day created"):
        assert f">{tab}</a>" in html


def test_the_page_reads_dates_in_the_viewers_zone(app, client, auth, dataset):
    with app.app_context():
        db.session.get(User, dataset.staff_id).time_zone = "Asia/Kolkata"
        db.session.commit()
    auth.login("staff@example.com")
    html = client.get(f"/insights?{RANGE}&group_by=day").get_data(as_text=True)
    assert "(Asia/Kolkata)" in html
    rows = re.findall(r'data-label="Day created"><span class="truncate" title="([^"]+)"', html)
    assert rows == ["Sun 1 Mar", "Mon 2 Mar", "Tue 3 Mar", "Wed 4 Mar", "Thu 5 Mar"]
    assert re.search(
        r'title="Sun 1 Mar">Sun 1 Mar</span></td>\s*<td class="num" data-label="Links">2<', html
    )


def test_bad_input_on_the_page_is_explained_not_an_error(client, auth, dataset):
    auth.login("staff@example.com")
    page = client.get("/insights?from=nonsense&group_by=day")
    assert page.status_code == 200
    assert "From: a date as YYYY-MM-DD" in page.get_data(as_text=True)


@pytest.mark.parametrize("group_by", ["public_link", "owner", "utm_campaign", "utm_source", "day"])
def test_every_grouping_exports_as_csv(client, auth, dataset, group_by):
    auth.login("staff@example.com")
    answer = client.get(f"/insights/export.csv?{RANGE}&group_by={group_by}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["key", "label", "links", "clicked", "booked", "declined", "conversion"]
    assert sum(int(row[2]) for row in rows[1:]) == 6


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get("/insights").status_code == 302
    assert client.get("/insights/export.csv").status_code == 302


def test_staff_see_the_nav_link(client, auth, app):
    with app.app_context():
        factories.make_user(email="staff@example.com", role="staff")
    auth.login("staff@example.com")
    assert 'href="/insights"' in client.get("/").get_data(as_text=True)
