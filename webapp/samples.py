"""Test notifications: the samples the settings page sends to the app's own receiver.

Their Scheduling Request ids start with `srq_test_` (webapp/webhooks/sample.py builds them;
Cronofy's own ids are `srq_` and hex, so no real request starts that way). They are kept
like any notification, marked as tests, left out of every figure and export, hidden from
the requests table unless asked for, and admins may delete them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from webapp.models import SchedulingRequest

TEST_ID_PREFIX = "srq_test_"


def is_test_request(scheduling_request_id: str | None) -> bool:
    return bool(scheduling_request_id) and scheduling_request_id.startswith(TEST_ID_PREFIX)  # type: ignore[union-attr]


def real_requests(column: ColumnElement[str] | None = None) -> ColumnElement[bool]:
    """SQL: the request (or the given id column) is not a test notification's."""
    target = SchedulingRequest.scheduling_request_id if column is None else column
    return ~target.startswith(TEST_ID_PREFIX, autoescape=True)
