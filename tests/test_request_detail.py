"""The detail page of one Scheduling Request: every field, its link, visits and timeline."""

from __future__ import annotations

import html as html_lib
import json
from datetime import timedelta

import pytest

from tests.support import factories
from tests.support.bookings import add_notification, make_delivery, make_request
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import Visit, utcnow


@pytest.fixture
def viewer(client, staff):
    return sign_in(client, staff.id)


@pytest.fixture
def booked(app, staff):
    """A matched request with two notifications, captured answers, UTM values and visits."""
    with app.app_context():
        public_link = factories.make_public_link(owner_id=staff.id, name="Interviews")
        link = factories.make_tracked_link(
            public_link.id, "cand-001", created_by_id=staff.id, label="Marty McFly"
        )
        now = utcnow()
        for minutes in range(55):
            db.session.add(
                Visit(
                    tracked_link_id=link.id,
                    at=now - timedelta(minutes=minutes),
                    jti=f"jti-{minutes}",
                    agent_class="human",
                    outcome="redirect",
                )
            )
        db.session.add(
            Visit(
                tracked_link_id=link.id,
                at=now - timedelta(days=3),
                agent_class="bot",
                outcome="refused",
            )
        )
        db.session.commit()
        ref = make_request(
            tracked_link=link,
            captured_data={"phone_number": "0118 999", "notes": "No dietary requirements."},
            utm={"utm_source": "automated_email_workflow", "utm_medium": "email"},
            event_start="2025-01-20T10:00:00Z",
            event_end="2025-01-20T10:30:00Z",
            updated_at=now - timedelta(hours=1),
        )
        add_notification(ref.scheduling_request_id, "scheduling_request_rescheduled")
        link_id, slug = link.id, link.slug
    return {"ref": ref, "link_id": link_id, "slug": slug}


def test_unknown_request_is_404(viewer):
    response = viewer.get("/requests/srq_nope")
    assert response.status_code == 404
    assert "No Scheduling Request has that id" in response.get_data(as_text=True)


def test_detail_requires_sign_in(client, booked):
    assert client.get(f"/requests/{booked['ref'].scheduling_request_id}").status_code == 302


def test_detail_shows_every_field(viewer, booked):
    ref = booked["ref"]
    page = viewer.get(f"/requests/{ref.scheduling_request_id}").get_data(as_text=True)
    for text in (
        ref.scheduling_request_id,
        "Product Manager Interview at Globex",
        "30 minutes",
        "complete",
        "2025-01-20T10:00:00Z",
        "2025-01-20T10:30:00Z",
        "Dr Emmet Brown",
        "eb@example.com",
        "Rescheduled",
        "Sam Staff",
    ):
        assert text in page, text
    assert page.count("<h1") == 1
    ext = 'rel="noopener noreferrer" target="_blank"'
    assert f'href="https://app.cronofy.com/scheduler/80f7fece4f37897d62d86d80" {ext}' in page
    assert f'href="https://app.cronofy.com/rts/LOiwlKXQ" {ext}' in page
    assert f'href="https://app.cronofy.com/rts/LOiwlKXQ?reschedule=true" {ext}' in page
    assert f'href="https://app.cronofy.com/rts/LOiwlKXQ?decline=true" {ext}' in page
    assert f'href="https://app.cronofy.com/rts/1234abc" {ext}' in page
    # captured answers as a list of terms, and UTM values
    assert "<dt>phone number</dt><dd" in page and "0118 999" in page
    assert "No dietary requirements." in page
    assert "<dt>utm_source</dt>" in page and "automated_email_workflow" in page


def test_detail_shows_the_tracked_link_and_latest_visits(viewer, booked):
    page = viewer.get(f"/requests/{booked['ref'].scheduling_request_id}").get_data(as_text=True)
    assert f'<a href="/links/{booked["link_id"]}"><code>cand-001</code></a>' in page
    assert "Marty McFly" in page and "Interviews" in page
    assert f"/l/{booked['slug']}" in page
    visits = page.split('<table class="data-table visits">')[1].split("</table>")[0]
    assert visits.count("<tr>") == 1 + 50  # header + the latest 50
    assert "refused" not in visits  # the oldest visit is beyond the latest 50


def test_timeline_lists_every_notification_in_order_with_payloads(app, viewer, booked):
    ref = booked["ref"]
    with app.app_context():
        # arrived last, triggered first: the timeline orders by triggered_at
        make_delivery(
            payload={
                "notification": {
                    "type": "scheduling_request_time_chosen",
                    "triggered_at": "2020-01-01T00:00:00Z",
                },
                "scheduling_request": {"scheduling_request_id": ref.scheduling_request_id},
            },
            status="stale",
        )
        make_delivery(
            body=b"{broken <b>json\xff",
            status="failed",
            error="not JSON: <unexpected>",
            scheduling_request_id=ref.scheduling_request_id,
        )
    page = viewer.get(f"/requests/{ref.scheduling_request_id}").get_data(as_text=True)
    timeline = page.split('<ol class="timeline">')[1].split("</ol>")[0]
    assert timeline.count('<li class="notification"') == 4
    assert timeline.index("Wed 1 Jan 2020, 00:00 UTC") < timeline.index("Rescheduled")
    assert timeline.index("Booked") < timeline.index("Rescheduled")
    assert timeline.index("Rescheduled") < timeline.index("delivery-failed")
    assert "delivery-stale" in timeline and "Error: not JSON: &lt;unexpected&gt;" in timeline
    assert "<pre" not in timeline  # payloads are technical details, folded away
    technical = page.split('<details class="technical">')[1].split("</details>")[0]
    assert technical.index("2020-01-01 00:00:00 UTC") < technical.index("failed")
    payloads = [
        html_lib.unescape(p.split(">", 1)[1].split("</pre>")[0])
        for p in technical.split('<pre class="payload"')[1:]
    ]
    assert json.loads(payloads[1])["notification"]["type"] == "scheduling_request_time_chosen"
    assert '\n  "notification": {' in payloads[1]  # pretty-printed
    assert payloads[3] == "{broken <b>json\ufffd"
    assert "<b>json" not in technical  # shown escaped
    assert "not valid JSON" in technical


def test_unmatched_request_says_so(app, viewer):
    with app.app_context():
        ref = make_request(correlation_id="stray-42")
    page = viewer.get(f"/requests/{ref.scheduling_request_id}").get_data(as_text=True)
    assert "No tracked link has the correlation ID <code>stray-42</code>" in page
    assert "Unmatched" in page


def test_html_and_script_urls_from_cronofy_are_inert(app, viewer):
    with app.app_context():
        ref = make_request(
            summary="<script>alert(1)</script>",
            invitee_name="<img src=x onerror=alert(2)>",
            captured_data={"notes": "<b>hi</b>", "<i>key</i>": "v"},
            dashboard_url="javascript:alert(3)",
            recipient_operations={"view_url": "JavaScript:alert(4)", "decline_url": "data:x"},
        )
    page = viewer.get(f"/requests/{ref.scheduling_request_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "<b>hi</b>" not in page and "&lt;b&gt;hi&lt;/b&gt;" in page
    assert "<i>key</i>" not in page
    assert 'href="javascript:' not in page.lower() and 'href="data:' not in page
    assert "(not a web link)" in page
