"""Issue 11's staff actions in the audit log: saved views, deleting a test notification.
(Bulk actions on links record the same entries as changing each link alone.)"""

from __future__ import annotations

from tests.audit.cases import ADMIN, STAFF, Ctx, expect, target
from tests.support import bookings
from webapp.audit import actions
from webapp.models import SavedView


def saved_view_saved(c: Ctx):  # type: ignore[no-untyped-def]
    c.staff.post("/views", data={"page": "links", "name": "Chase", "query": "state=not_clicked"})
    view = c.one(SavedView, name="Chase")
    changes = {
        "page": [None, "links"],
        "name": [None, "Chase"],
        "query": [None, "state=not_clicked"],
    }
    return expect(actions.SAVED_VIEW_SAVED, STAFF, target("saved_view", view.id, "Chase"), changes)


def saved_view_deleted(c: Ctx):  # type: ignore[no-untyped-def]
    c.staff.post("/views", data={"page": "requests", "name": "Gone", "query": "q=x", "shared": "1"})
    view = c.one(SavedView, name="Gone")
    c.staff.post(f"/views/{view.id}/delete")
    changes = {
        "page": ["requests", None],
        "name": ["Gone", None],
        "query": ["q=x", None],
        "shared": [True, None],
    }
    return expect(actions.SAVED_VIEW_DELETED, STAFF, target("saved_view", view.id, "Gone"), changes)


def test_request_deleted(c: Ctx):  # type: ignore[no-untyped-def]
    with c.install.app.app_context():
        made = bookings.make_request("srq_test_a1b2c3d4e5f6", status="time_chosen")
    c.admin.post(
        "/requests/test-notifications/delete",
        data={"scheduling_request_id": "srq_test_a1b2c3d4e5f6"},
    )
    return expect(
        actions.TEST_REQUEST_DELETED,
        ADMIN,
        target("scheduling_request", made.id, "srq_test_a1b2c3d4e5f6"),
        {"status": ["time_chosen", None], "deliveries": [1, 0]},
    )


OUTCOME_CASES = [saved_view_saved, saved_view_deleted, test_request_deleted]
