"""Shared helpers for the audit log tests: a populated install and reading entries back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.support import bookings, factories
from webapp.audit.present import entry_json
from webapp.auth import api_tokens
from webapp.extensions import db
from webapp.models import AuditEvent, User

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0 Safari/537.36"}


@dataclass(frozen=True)
class Install:
    app: Flask
    admin_id: int
    staff_id: int
    admin_token: str
    staff_token: str
    public_link_id: int
    tracked_link_id: int
    correlation_id: str
    failed_delivery_id: int


def build_install(app: Flask) -> Install:
    with app.app_context():
        admin = factories.make_user(email="admin@example.com", role="admin", name="Ada Admin")
        staff = factories.make_user(email="staff@example.com", role="staff", name="Sam Staff")
        admin_token = api_tokens.issue_token(db.session.get(User, admin.id), "audit admin")
        staff_token = api_tokens.issue_token(db.session.get(User, staff.id), "audit staff")
        public_link = factories.make_public_link(owner_id=staff.id, name="Interviews")
        link = factories.make_tracked_link(
            public_link.id, correlation_id="cand-0042", created_by_id=staff.id, label="Ada"
        )
        failed = bookings.make_delivery(
            body=b'{"not": "a notification"}', status="failed", error="no scheduling_request"
        )
        install = Install(
            app=app,
            admin_id=admin.id,
            staff_id=staff.id,
            admin_token=admin_token,
            staff_token=staff_token,
            public_link_id=public_link.id,
            tracked_link_id=link.id,
            correlation_id=link.correlation_id,
            failed_delivery_id=failed,
        )
        # The set-up above wrote entries of its own (tokens issued); tests start from none.
        db.session.execute(AuditEvent.__table__.delete())
        db.session.commit()
    return install


def entries(app: Flask, action: str | None = None) -> list[dict[str, Any]]:
    """The entries as the API shows them, oldest first (optionally of one action)."""
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        found = [entry_json(row) for row in db.session.execute(query).scalars()]
        db.session.remove()
    return found


def count(app: Flask) -> int:
    with app.app_context():
        total = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        db.session.remove()
    return int(total)
