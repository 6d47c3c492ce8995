"""Announcing applied notifications: outbound webhooks, Slack and the owner's email
(webapp/outbound/events.py), queued in the outbox in the very transaction that applies
them, so a notification is announced if and only if it was applied.

The applier writes through a Core connection (store.py), while the outbound code queues
through the ORM session (`db.session`). So the announcement runs in an app context of its
own whose session is a plain SQLAlchemy Session on that connection: it joins the open
transaction (SQLAlchemy's "joining a Session into an external transaction") instead of
checking out a second connection, which on SQLite would wait on the write lock the first
one holds. The session never commits: the applier's transaction does, and then wakes the
outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import DELIVERY_APPLIED
from webapp.outbound.events import emit_scheduling_request_event
from webapp.webhooks.fold import Ready


def applied_in_order(ready: Sequence[Ready], statuses: dict[int, str]) -> list[Ready]:
    """The deliveries that were applied, per request in the order they were folded."""
    applied = [item for item in ready if statuses.get(item.delivery_id) == DELIVERY_APPLIED]
    return sorted(
        applied,
        key=lambda item: (
            item.notification.scheduling_request_id,
            item.notification.triggered_at,
            item.delivery_id,
        ),
    )


def announce(app: Flask, connection: Connection, applied: Sequence[Ready], now: datetime) -> int:
    """Queue each applied notification's messages in `connection`'s open transaction; how
    many messages were queued."""
    if not applied:
        return 0
    with app.app_context():
        session = Session(bind=connection, join_transaction_mode="conditional_savepoint")
        db.session.registry.set(session)
        try:
            queued = sum(
                emit_scheduling_request_event(
                    item.notification.type, item.notification.scheduling_request_id, now=now
                )
                for item in applied
            )
            session.flush()
            return queued
        finally:
            session.close()  # leaves the applier's transaction open: it is not the session's
            db.session.registry.clear()
