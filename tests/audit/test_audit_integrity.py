"""The audit log is append-only, and an entry commits or rolls back with its action."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from tests.audit.support import build_install, count, entries
from tests.support.signin import bearer, sign_in
from webapp.audit import actions
from webapp.audit.log import REDACTED, created, diff, record, safe_changes
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.links import service as links_service
from webapp.models import AuditEvent, AuditLogIsAppendOnly, PublicLink, User


@pytest.fixture
def install(app):
    return build_install(app)


class Boom(RuntimeError):
    pass


def test_a_failed_commit_takes_the_action_and_its_entry_with_it(app, install):
    def fail(_session):  # type: ignore[no-untyped-def]
        raise Boom("the database went away at commit")

    with app.app_context():
        links_before = db.session.execute(select(func.count(PublicLink.id))).scalar_one()
        staff = db.session.get(User, install.staff_id)
        event.listen(db.session, "before_commit", fail)
        try:
            with pytest.raises(Boom):
                links_service.create_public_link(
                    staff, {"name": "Lost", "url": "https://app.cronofy.com/pls/LOST1"}
                )
        finally:
            event.remove(db.session, "before_commit", fail)
        links_after = db.session.execute(select(func.count(PublicLink.id))).scalar_one()
        db.session.remove()
    assert links_after == links_before
    assert count(app) == 0

    # The same call without the failure commits both: the test above could have failed.
    with app.app_context():
        staff = db.session.get(User, install.staff_id)
        links_service.create_public_link(
            staff, {"name": "Kept", "url": "https://app.cronofy.com/pls/KEPT1"}
        )
    assert [entry["target"]["name"] for entry in entries(app)] == ["Kept"]


def test_a_refused_action_records_nothing(app, install):
    admin = sign_in(app.test_client(), "admin@example.com")
    # The only active admin may not stop being one.
    admin.post(f"/users/{install.admin_id}/role", data={"role": "staff"})
    admin.post(f"/users/{install.admin_id}/active", data={"active": "0"})
    assert [entry["action"] for entry in entries(app)] == [actions.SIGN_IN]


def test_invalid_input_records_nothing(app, install):
    staff = sign_in(app.test_client(), "staff@example.com")
    response = staff.post("/public-links/new", data={"name": "", "url": "not a url"})
    assert response.status_code == 422
    response = staff.post("/links/new", data={"public_link_id": "999999"})
    assert response.status_code == 422
    assert [entry["action"] for entry in entries(app)] == [actions.SIGN_IN]


def test_the_orm_refuses_to_change_or_delete_an_entry(app, install):
    with app.app_context():
        with write_transaction():
            record(actions.SETTINGS_UPDATED, None, {"x": [1, 2]})
        entry = db.session.execute(select(AuditEvent)).scalar_one()
        entry.action = "user.created"
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        entry = db.session.execute(select(AuditEvent)).scalar_one()
        db.session.delete(entry)
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.remove()
    assert [entry["action"] for entry in entries(app)] == [actions.SETTINGS_UPDATED]


def test_no_route_can_write_to_the_audit_log(app, install):
    """Only GET (and HEAD/OPTIONS) reach the audit log's paths; anything else is 405."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/audit", "/api/v1/audit-events")):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    admin = sign_in(app.test_client(), "admin@example.com")
    before = count(app)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/audit", "/audit/export.csv"):
            assert admin.open(path, method=method).status_code == 405, (method, path)
        response = app.test_client().open(
            "/api/v1/audit-events", method=method, headers=bearer(install.admin_token)
        )
        assert response.status_code == 405, method
    assert count(app) == before


def test_changes_never_hold_a_secret():
    changes = safe_changes(
        {
            "password": ["old", "new"],
            "password_hash": "pbkdf2:...",
            "secret": ["whsec_a", "whsec_b"],
            "token_hash": "abc",
            "name": ["a", "b"],
        }
    )
    assert changes == {
        "password": [REDACTED, REDACTED],
        "password_hash": REDACTED,
        "secret": [REDACTED, REDACTED],
        "token_hash": REDACTED,
        "name": ["a", "b"],
    }


def test_diff_and_created_helpers():
    assert diff({"a": 1, "b": "x", "c": None}, {"a": 1, "b": "y", "d": 4}) == {
        "b": ["x", "y"],
        "d": [None, 4],
    }
    assert created({"name": "N", "label": "", "disabled": False, "count": 0, "on": True}) == {
        "name": [None, "N"],
        "count": [None, 0],
        "on": [None, True],
    }
