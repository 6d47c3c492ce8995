"""Announcing applied notifications: outbound webhooks, Slack and the owner's email
(webapp/outbound/events.py), queued in the outbox in the very transaction that applies
them, so a notification is announced if and only if it was applied.

The applier writes through a Core connection (store.py), while the outbound code queues
through the ORM session (`db.session`). So the announcement runs with `db.session` joined
to that connection's open transaction (webapp.database.session_on). The session never
commits: the applier's transaction does, and then wakes the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import Flask
from sqlalchemy import Connection

from webapp.database import session_on
from webapp.models import DELIVERY_APPLIED
from webapp.outbound.events import anyone_hears, emit_scheduling_request_event
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
    with app.app_context():  # the mail settings are the app's
        heard = anyone_hears(connection, (item.notification.type for item in applied))
    if not heard:
        return 0  # the usual case: no ORM session at all
    with session_on(app, connection):
        return sum(
            emit_scheduling_request_event(
                item.notification.type, item.notification.scheduling_request_id, now=now
            )
            for item in applied
        )
