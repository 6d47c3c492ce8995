"""The tracked link's page tells one time-ordered story, linked both ways with requests."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.outcomes import data
from tests.support import factories
from webapp.extensions import db
from webapp.models import TrackedLink, Visit, utcnow


def test_created_clicks_notifications_and_changes_in_order(app, client, auth, admin):
    with app.app_context():
        public = factories.make_public_link(admin.id)
    auth.login()
    client.post(
        "/links/new", data={"public_link_id": str(public.id), "correlation_id": "cand-story"}
    )
    with app.app_context():
        link = db.session.execute(
            select(TrackedLink).where(TrackedLink.correlation_id == "cand-story")
        ).scalar_one()
        link_id, created = link.id, link.created_at
        data.visit(app, link_id, created + timedelta(minutes=1), "preview")  # not a click
        data.visit(app, link_id, created + timedelta(minutes=2))
        data.visit(app, link_id, created + timedelta(minutes=3))
        booked = data.request(
            link_id, "rescheduled", created + timedelta(minutes=10), notifications=2
        )
        data.request(
            link_id, "time_chosen", created + timedelta(minutes=11), srq="srq_test_ffffeeee0000"
        )
        visits = (
            db.session.execute(
                select(Visit.id).where(Visit.agent_class == "human").order_by(Visit.at)
            )
            .scalars()
            .all()
        )
    client.post(
        f"/links/{link_id}",
        data={"public_link_id": str(public.id), "correlation_id": "cand-story", "label": "Grace"},
    )
    client.post(f"/links/{link_id}/disable")
    html = client.get(f"/links/{link_id}").get_data(as_text=True)
    timeline = html.split('id="timeline-heading"', 1)[1].split("</ol>", 1)[0]
    kinds = re.findall(r'<li id="([a-z]+)(?:-\d+)?" class="timeline-(\w+)">', timeline)
    assert [kind for _, kind in kinds] == [
        "created",
        "edit",
        "disabled",
        "click",
        "click",
        "notification",
        "notification",
    ]  # the edits happen now; the clicks and notifications minutes after the creation
    assert "Created</strong> by Ada Admin" in timeline
    assert 'Edited</strong> by admin@example.com <span class="muted">(label)</span>' in timeline
    # The last click before the booking led to it; the notifications link to the request.
    assert re.search(
        rf'id="visit-{visits[1]}".*?'
        rf'href="/requests/{booked.scheduling_request_id}">led to a booking',
        timeline,
        re.S,
    )
    assert (
        f'href="/requests/{booked.scheduling_request_id}#delivery-{booked.delivery_ids[0]}"'
        in timeline
    )
    assert "srq_test_" not in timeline  # a test notification is no part of the story
    # ...and back: the request's page links its visits and notifications to this timeline.
    detail = client.get(f"/requests/{booked.scheduling_request_id}").get_data(as_text=True)
    assert f'href="/links/{link_id}#visit-{visits[1]}"' in detail
    assert f'href="/links/{link_id}#notification-{booked.delivery_ids[1]}"' in detail


def test_a_long_story_is_clipped_to_the_latest(app, client, auth, admin):
    with app.app_context():
        public = factories.make_public_link(admin.id)
        link_id = factories.make_tracked_link(public.id, "cand-busy", admin.id).id
        start = utcnow() - timedelta(days=2)
        for minute in range(105):
            data.visit(app, link_id, start + timedelta(minutes=minute))
    auth.login()
    html = client.get(f"/links/{link_id}").get_data(as_text=True)
    assert "Showing the latest 100 clicks" in html
    assert html.count('class="timeline-click"') == 100
