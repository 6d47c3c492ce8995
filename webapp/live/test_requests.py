"""Deleting a test notification's Scheduling Request (admins): the request, its search
terms and the deliveries that built it, in one transaction with its audit entry.

Only requests whose id marks them as the settings page's samples (webapp/samples.py) can
go this way: a real booking is never deleted from the dashboard.
"""

from __future__ import annotations

from sqlalchemy import delete

from webapp.audit import actions
from webapp.audit.log import Target, record
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.live.detail import MAX_REQUEST_ID, find_request
from webapp.models import Delivery, User
from webapp.samples import is_test_request


class NotATest(ValueError):
    """The request is not a test notification's (or does not exist)."""


class NotAllowed(PermissionError):
    """Only admins delete test notifications."""


def delete_test_request(user: User, scheduling_request_id: str) -> int:
    """Delete the test request and its deliveries; returns how many deliveries went."""
    if not user.is_admin:
        raise NotAllowed("only admins delete test notifications")
    if not is_test_request(scheduling_request_id):
        raise NotATest(scheduling_request_id[:MAX_REQUEST_ID])
    with write_transaction():
        request = find_request(scheduling_request_id)
        if request is None:
            raise NotATest(scheduling_request_id[:MAX_REQUEST_ID])
        deliveries = db.session.execute(
            delete(Delivery).where(Delivery.scheduling_request_id == scheduling_request_id)
        ).rowcount
        record(
            actions.TEST_REQUEST_DELETED,
            Target(actions.TARGET_SCHEDULING_REQUEST, request.id, scheduling_request_id),
            {"status": [request.status, None], "deliveries": [deliveries, 0]},
            actor=user,
        )
        db.session.delete(request)  # its search terms go with it (ON DELETE CASCADE)
    return int(deliveries or 0)
