"""Issue 9 §10: a later notification updates only the fields it carries.

Cronofy's notifications need not repeat everything: one without `summary`, `recipients`,
`duration` or `recipient_operations` keeps what an earlier one said (before, it blanked
them), while the status still follows the newest `triggered_at`. A field that is there but
empty (an empty list of recipients) does say something, and is taken.
"""

from __future__ import annotations

import json

from tests.support import factories
from tests.support.deliveries import notification_body, post_signed, scheduling_request
from webapp.extensions import db
from webapp.models import TrackedLink
from webapp.webhooks import payload

VIEW_URL = "https://app.cronofy.com/rts/LOiwlKXQ"


def full(srq_id: str) -> bytes:
    return notification_body(
        srq_id,
        summary="Interview at Globex",
        correlation_id="partial-1",
        duration={"minutes": 45},
        slot_selection="complete",
        dashboard_url="https://app.cronofy.com/scheduler/1",
        recipient_operations={"view_url": VIEW_URL},
    )


def bare(srq_id: str, triggered_at: str, type_: str, **request_fields) -> bytes:
    """A notification with its identity and nothing else the earlier one said."""
    document = {
        "notification": {"type": type_, "triggered_at": triggered_at},
        "scheduling_request": {"scheduling_request_id": srq_id, **request_fields},
    }
    return json.dumps(document).encode()


def test_reading_says_which_fields_a_notification_carries():
    everything = payload.parse(full("srq_read"))
    assert {"summary", "recipients", "duration_minutes", "recipient_operations"} <= (
        everything.carried
    )
    nothing = payload.parse(bare("srq_read", "2025-02-01T00:00:00Z", "x"))
    assert nothing.carried == frozenset()
    empty = payload.parse(bare("srq_read", "2025-02-01T00:00:00Z", "x", recipients=[]))
    assert empty.carried == {"recipients"} and empty.recipients == []
    nulls = payload.parse(
        bare("srq_read", "2025-02-01T00:00:00Z", "x", summary=None, recipient_operations=None)
    )
    assert nulls.carried == frozenset()


def test_a_later_notification_keeps_what_it_does_not_say(app, client):
    with app.app_context():
        public_link = factories.make_public_link()
        link_id = factories.make_tracked_link(public_link.id, correlation_id="partial-1").id
    post_signed(client, full("srq_partial"))
    rescheduled = bare("srq_partial", "2025-02-01T00:00:00Z", "scheduling_request_rescheduled")
    assert post_signed(client, rescheduled).status_code == 200

    row = scheduling_request(app, "srq_partial")
    assert row.status == "rescheduled"  # the newest triggered_at decides the status
    assert row.last_triggered_at.isoformat() == "2025-02-01T00:00:00+00:00"
    assert row.summary == "Interview at Globex"
    assert row.recipients[0]["email"] == "ann@example.com"
    assert row.duration_minutes == 45
    assert row.slot_selection == "complete"
    assert row.dashboard_url == "https://app.cronofy.com/scheduler/1"
    assert row.recipient_operations == {"view_url": VIEW_URL}
    assert row.correlation_id == "partial-1" and row.tracked_link_id == link_id
    assert row.notification_count == 2
    with app.app_context():
        assert db.session.get(TrackedLink, link_id).booking_view_url == VIEW_URL


def test_a_field_that_is_there_but_empty_is_taken(app, client):
    post_signed(client, full("srq_emptied"))
    emptied = bare(
        "srq_emptied",
        "2025-02-01T00:00:00Z",
        "scheduling_request_time_chosen",
        recipients=[],
        summary="",
    )
    post_signed(client, emptied)
    row = scheduling_request(app, "srq_emptied")
    assert row.recipients == [] and row.summary == ""
    assert row.duration_minutes == 45  # not said: kept


def test_an_older_partial_notification_still_changes_nothing(app, client):
    post_signed(client, full("srq_old_partial"))
    older = bare(
        "srq_old_partial",
        "2024-12-01T00:00:00Z",
        "scheduling_request_declined",
        summary="Older summary",
    )
    post_signed(client, older)
    row = scheduling_request(app, "srq_old_partial")
    assert row.status == "time_chosen" and row.summary == "Interview at Globex"


def test_the_receiver_keeps_the_meeting_time_a_notification_carries(app, client):
    """Issue 11: the meeting columns follow the event times the newest notification said;
    one that says none keeps them, a reschedule moves them."""
    london = {"time": "2026-03-03T14:30:00", "tzid": "Europe/London"}
    event = {"start": london, "end": "2026-03-03T15:00:00Z", "metadata": {"scheduler": {}}}
    srq = "srq_meeting"
    assert post_signed(client, notification_body(srq, event=event)).status_code == 200
    row = scheduling_request(app, srq)
    assert row.meeting_starts_at.isoformat() == "2026-03-03T14:30:00+00:00"
    assert row.meeting_ends_at.isoformat() == "2026-03-03T15:00:00+00:00"
    later = bare(srq, "2025-01-19T17:00:00Z", "scheduling_request_updated")
    assert post_signed(client, later).status_code == 200
    assert scheduling_request(app, srq).meeting_starts_at == row.meeting_starts_at
    moved = {"start": "2026-03-04T09:00:00-05:00", "metadata": {"scheduler": {}}}
    rescheduled = notification_body(
        srq, "scheduling_request_rescheduled", "2025-01-19T18:00:00Z", event=moved
    )
    assert post_signed(client, rescheduled).status_code == 200
    row = scheduling_request(app, srq)
    assert row.meeting_starts_at.isoformat() == "2026-03-04T14:00:00+00:00"
    assert row.meeting_ends_at is None  # no end said: none kept from the old time
