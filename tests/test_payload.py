"""Reading notifications: the documented example, tolerated gaps, and refused types."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from tests.support.deliveries import example_payload as example_document
from webapp.webhooks.payload import PayloadError, envelope, parse


def minimal(**notification) -> dict:
    return {
        "notification": {
            "type": "scheduling_request_time_chosen",
            "triggered_at": "2025-01-19T16:14:11Z",
            **notification,
        },
        "scheduling_request": {"scheduling_request_id": "srq_1"},
    }


def body_of(document) -> bytes:
    return json.dumps(document).encode()


def test_documented_example():
    notification = parse(body_of(example_document()))
    assert notification.type == "scheduling_request_time_chosen"
    assert notification.status == "time_chosen"
    assert notification.triggered_at == datetime(2025, 1, 19, 16, 14, 11, tzinfo=UTC)
    assert notification.scheduling_request_id == "srq_80f7fece4f37897d62d86d80"
    assert notification.summary == "Product Manager Interview at Globex"
    assert notification.recipients == [
        {
            "email": "eb@example.com",
            "display_name": "Dr Emmet Brown",
            "select_url": "https://app.cronofy.com/rts/1234abc",
            "slot_selector": True,
        }
    ]
    assert notification.duration_minutes == 30
    assert notification.slot_selection == "complete"
    assert notification.dashboard_url == (
        "https://app.cronofy.com/scheduler/80f7fece4f37897d62d86d80"
    )
    assert notification.primary_select_url == "https://app.cronofy.com/rts/LOiwlKXQ"
    assert notification.recipient_operations == {
        "view_url": "https://app.cronofy.com/rts/LOiwlKXQ",
        "reschedule_url": "https://app.cronofy.com/rts/LOiwlKXQ?reschedule=true",
        "decline_url": "https://app.cronofy.com/rts/LOiwlKXQ?decline=true",
    }
    assert notification.correlation_id == "foobar"
    assert notification.utm == {
        "utm_medium": "email",
        "utm_source": "automated_email_workflow",
        "utm_campaign": "candidate_interview_offer_email",
    }
    assert notification.captured_data == {
        "phone_number": "0118999881999119725 3",
        "notes": "No dietary requirements.",
    }
    assert notification.has_metadata
    assert notification.event_start is None and notification.event_end is None


def test_minimal_notification_tolerates_missing_parts():
    notification = parse(body_of(minimal()))
    assert notification.recipients == []
    assert notification.summary is None
    assert notification.duration_minutes is None
    assert notification.correlation_id is None
    assert notification.utm == {} and notification.captured_data == {}
    assert not notification.has_metadata


def test_summary_falls_back_to_the_event():
    document = minimal()
    document["scheduling_request"]["event"] = {"summary": "From the event"}
    assert parse(body_of(document)).summary == "From the event"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-19T16:14:11Z", datetime(2025, 1, 19, 16, 14, 11, tzinfo=UTC)),
        ("2025-01-19T18:14:11+02:00", datetime(2025, 1, 19, 16, 14, 11, tzinfo=UTC)),
        ("2025-01-19T16:14:11.250Z", datetime(2025, 1, 19, 16, 14, 11, 250000, tzinfo=UTC)),
    ],
)
def test_triggered_at_formats(value, expected):
    assert parse(body_of(minimal(triggered_at=value))).triggered_at == expected


def test_unknown_type_is_kept():
    notification = parse(body_of(minimal(type="scheduling_request_something_new")))
    assert notification.type == "scheduling_request_something_new"
    assert notification.status == "something_new"
    assert parse(body_of(minimal(type="other.thing"))).status == "other.thing"


def test_event_times_as_strings_or_objects():
    document = minimal()
    document["scheduling_request"]["event"] = {
        "start": {"time": "2025-01-20T09:00:00Z", "tzid": "Europe/London"},
        "end": "2025-01-20T09:30:00Z",
    }
    notification = parse(body_of(document))
    assert notification.event_start == "2025-01-20T09:00:00Z"
    assert notification.event_end == "2025-01-20T09:30:00Z"


def test_recipients_tolerate_missing_keys():
    document = minimal()
    document["scheduling_request"]["recipients"] = [{"email": "a@example.com"}, {}]
    assert parse(body_of(document)).recipients == [
        {"email": "a@example.com", "display_name": None, "select_url": None, "slot_selector": None},
        {"email": None, "display_name": None, "select_url": None, "slot_selector": None},
    ]


def test_captured_answers_of_other_types_are_kept_as_text():
    document = minimal()
    document["scheduling_request"]["event"] = {
        "metadata": {
            "scheduler": {
                "captured_data.count": 3,
                "captured_data.flags": ["a", "b"],
                "captured_data.": "no name",
                "unrelated": "ignored",
            }
        }
    }
    assert parse(body_of(document)).captured_data == {"count": "3", "flags": '["a", "b"]'}


def test_absurdly_long_text_is_cut_and_long_identifiers_refused():
    document = minimal()
    document["scheduling_request"]["summary"] = "x" * 100_000
    assert len(parse(body_of(document)).summary) == 2000
    document = minimal()
    document["scheduling_request"]["scheduling_request_id"] = "srq_" + "x" * 300
    with pytest.raises(PayloadError, match="longer than"):
        parse(body_of(document))


def test_html_is_kept_as_text():
    document = minimal()
    document["scheduling_request"]["summary"] = "<script>alert(1)</script>"
    assert parse(body_of(document)).summary == "<script>alert(1)</script>"


def set_path(document: dict, path: str, value) -> dict:
    document = copy.deepcopy(document)
    *parents, last = path.split(".")
    target = document
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("notification.type", 42, "notification.type should be a string"),
        ("notification.type", None, "notification.type is missing"),
        ("notification.triggered_at", None, "triggered_at is missing"),
        ("notification.triggered_at", "yesterday", "not an ISO-8601"),
        ("notification.triggered_at", "2025-01-19T16:14:11", "not an ISO-8601"),
        ("notification.triggered_at", 1737303251, "should be a string"),
        ("notification", "text", "notification should be an object"),
        ("scheduling_request", None, "scheduling_request is missing"),
        ("scheduling_request", [], "should be an object"),
        ("scheduling_request.scheduling_request_id", None, "scheduling_request_id is missing"),
        ("scheduling_request.scheduling_request_id", 12345, "should be a string"),
        ("scheduling_request.summary", 3.5, "summary should be a string"),
        ("scheduling_request.recipients", "eb@example.com", "recipients should be a list"),
        ("scheduling_request.recipients", ["eb@example.com"], "recipients[0] should be an object"),
        ("scheduling_request.recipients", [{"email": 7}], "recipients[0].email"),
        ("scheduling_request.recipients", [{"slot_selector": "yes"}], "slot_selector"),
        ("scheduling_request.duration", 30, "duration should be an object"),
        ("scheduling_request.duration", {"minutes": "30"}, "whole number"),
        ("scheduling_request.duration", {"minutes": True}, "whole number"),
        ("scheduling_request.recipient_operations", {"view_url": 1}, "view_url"),
        ("scheduling_request.event", "x", "event should be an object"),
        ("scheduling_request.event", {"metadata": {"scheduler": []}}, "scheduler should be"),
        (
            "scheduling_request.event",
            {"metadata": {"scheduler": {"correlation_id": 5}}},
            "correlation_id should be a string",
        ),
        (
            "scheduling_request.event",
            {"metadata": {"scheduler": {"utm_source": {"a": 1}}}},
            "utm_source should be a string",
        ),
    ],
)
def test_wrong_types_are_payload_errors(path, value, message):
    with pytest.raises(PayloadError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse(body_of(set_path(minimal(), path, value)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not JSON"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not JSON"),
    ],
)
def test_unreadable_bodies(body, message):
    with pytest.raises(PayloadError, match=message):
        parse(body)


def test_envelope_is_best_effort():
    document = minimal()
    document["scheduling_request"]["recipients"] = "broken"
    head = envelope(body_of(document))
    assert head.type == "scheduling_request_time_chosen"
    assert head.scheduling_request_id == "srq_1"
    assert head.triggered_at == datetime(2025, 1, 19, 16, 14, 11, tzinfo=UTC)
    assert envelope(b"garbage").type is None
    broken = body_of(set_path(minimal(), "notification.triggered_at", "soon"))
    assert envelope(broken).triggered_at is None
    assert envelope(broken).type == "scheduling_request_time_chosen"
