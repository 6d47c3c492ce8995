"""CSV export: exactly the filtered view, every page of it, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from tests.support import factories
from tests.support.bookings import make_request
from tests.support.signin import sign_in
from webapp.live.queries import PAGE_SIZE
from webapp.models import utcnow


def read_csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_export_requires_sign_in(client):
    assert client.get("/requests/export.csv").status_code == 302


def test_export_is_every_page_of_the_filtered_view(app, client, staff):
    now = utcnow()
    with app.app_context():
        link = factories.make_public_link(owner_id=staff.id)
        tracked = factories.make_tracked_link(link.id, "cand-9", created_by_id=staff.id)
        wanted = [
            make_request(
                tracked_link=tracked,
                status="time_chosen",
                summary=f"Interview {n}",
                updated_at=now - timedelta(seconds=n),
            ).scheduling_request_id
            for n in range(PAGE_SIZE + 7)
        ]
        make_request(status="declined", summary="Interview declined")
        make_request(status="time_chosen", summary="Other meeting")
    sign_in(client, staff.id)
    response = client.get("/requests/export.csv?status=time_chosen&q=interview")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert [row["scheduling_request_id"] for row in rows] == wanted  # same order as the page
    first = rows[0]
    assert first["status"] == "time_chosen"
    assert first["invitee_name"] == "Dr Emmet Brown"
    assert first["invitee_email"] == "eb@example.com"
    assert first["correlation_id"] == "cand-9" and first["matched"] == "yes"
    assert first["public_link"] == "Interviews" and first["owner"] == "Sam Staff"
    assert first["notification_count"] == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["updated_at"])
    # the page shows the same set
    page = client.get("/?status=time_chosen&q=interview").get_data(as_text=True)
    assert re.findall(r'<tr data-srq="([^"]+)"', page) == wanted[:PAGE_SIZE]


def test_export_neutralises_formulas_and_keeps_html_as_text(app, client, staff):
    with app.app_context():
        make_request(
            summary='=HYPERLINK("http://evil")',
            invitee_name="+1 call me",
            invitee_email="@example.com",
            correlation_id="-2+3",
        )
        make_request(summary="<script>alert(1)</script>", invitee_name="<b>Bold</b>")
    sign_in(client, staff.id)
    rows = read_csv(client.get("/requests/export.csv"))
    html_row, formula_row = rows
    assert formula_row["summary"] == '\'=HYPERLINK("http://evil")'
    assert formula_row["invitee_name"] == "'+1 call me"
    assert formula_row["invitee_email"] == "'@example.com"
    assert formula_row["correlation_id"] == "'-2+3"
    assert formula_row["matched"] == "no"
    assert html_row["summary"] == "<script>alert(1)</script>"  # text in a CSV, not HTML
    assert html_row["invitee_name"] == "<b>Bold</b>"


def test_export_of_an_empty_view_is_just_the_header(app, client, staff):
    sign_in(client, staff.id)
    lines = client.get("/requests/export.csv").get_data(as_text=True).splitlines()
    assert lines == [
        "updated_at,status,invitee_name,invitee_email,summary,correlation_id,matched,"
        "public_link,owner,notification_count,scheduling_request_id,first_notified_at,"
        "event_start,event_end"
    ]
