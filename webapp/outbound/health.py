"""Endpoint health: an endpoint failing for 12 h is flagged and every admin is told; one
failing for 24 h is disabled (its pending messages held) and every admin is told again.

Runs as the outbox's result hook, inside the transaction that records each attempt.
Admins see a banner on every staff page while an endpoint is flagged or was disabled for
failing (`alerts`), and get an email each time (webapp/mail/alerts.py). Re-enabling an
endpoint releases what is still pending (service.set_enabled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from webapp import outbox
from webapp.extensions import db
from webapp.mail import alerts
from webapp.models import DISABLED_FAILING, OutboxMessage, WebhookEndpoint
from webapp.outbound import audit_trail
from webapp.outbound.events import TEST_EVENT
from webapp.outbound.slack import shown_url

WARN_AFTER = timedelta(hours=12)
DISABLE_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Alert:
    endpoint_id: int
    description: str
    url: str
    disabled: bool
    failing_since: datetime | None


def on_result(row: OutboxMessage, result: outbox.SendResult, now: datetime) -> None:
    endpoint = db.session.get(WebhookEndpoint, row.target_id) if row.target_id else None
    if endpoint is None or not endpoint.enabled:
        return
    if result.ok:
        endpoint.failing_since = None
        endpoint.warned_at = None
        return
    if row.topic == TEST_EVENT and endpoint.failing_since is None:
        return  # a failed test says nothing about real deliveries yet
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    failing_for = now - endpoint.failing_since
    if failing_for >= DISABLE_AFTER:
        disable_for_failing(endpoint, now)
        # The endpoint is what fails: this message waits with the others, not given up.
        if row.gave_up_at == now:
            row.gave_up_at = None
        row.held = True
    elif failing_for >= WARN_AFTER and endpoint.warned_at is None:
        endpoint.warned_at = now
        alerts.queue_endpoint_alert(
            endpoint, disabled=False, now=now, shown_url=shown_url(endpoint)
        )


def disable_for_failing(endpoint: WebhookEndpoint, now: datetime) -> None:
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = DISABLED_FAILING
    outbox.hold(endpoint.kind, endpoint.id)
    audit_trail.record_switched(endpoint, by_system=True)
    alerts.queue_endpoint_alert(endpoint, disabled=True, now=now, shown_url=shown_url(endpoint))


def alerts_for_admins() -> list[Alert]:
    """Endpoints failing long enough to warn about, or disabled for failing."""
    rows = db.session.scalars(
        db.select(WebhookEndpoint)
        .where(
            db.or_(
                db.and_(WebhookEndpoint.enabled.is_(True), WebhookEndpoint.warned_at.is_not(None)),
                db.and_(
                    WebhookEndpoint.enabled.is_(False),
                    WebhookEndpoint.disabled_reason == DISABLED_FAILING,
                ),
            )
        )
        .order_by(WebhookEndpoint.id)
    )
    return [
        Alert(
            endpoint_id=row.id,
            description=row.description,
            url=shown_url(row),
            disabled=not row.enabled,
            failing_since=row.failing_since,
        )
        for row in rows
    ]
