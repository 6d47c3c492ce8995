"""How webhook endpoints appear in the audit log: their target and their recorded fields.

Never a secret: the signing secret is not a recorded field (a rotation records only that it
happened), and a Slack endpoint's URL, its own credential, is recorded masked (a change of
it, as changed, without its values).
"""

from __future__ import annotations

from typing import Any

from webapp.audit import actions
from webapp.audit.log import REDACTED, Target, created, diff, record
from webapp.models import ENDPOINT_SLACK, WebhookEndpoint
from webapp.outbound.slack import shown_url


def target(endpoint: WebhookEndpoint) -> Target:
    """Named by its description, else its (shown) URL: what admins know it by."""
    name = endpoint.description or shown_url(endpoint)
    return Target(actions.TARGET_WEBHOOK_ENDPOINT, endpoint.id, name)


def fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """Its settings as the log records them (enabled is recorded by its own actions)."""
    return {
        "kind": endpoint.kind,
        "url": shown_url(endpoint),
        "description": endpoint.description,
        "events": list(endpoint.events or []),
    }


def record_created(endpoint: WebhookEndpoint) -> None:
    values = fields(endpoint) | {"enabled": endpoint.enabled}
    record(actions.WEBHOOK_ENDPOINT_CREATED, target(endpoint), created(values))


def record_updated(endpoint: WebhookEndpoint, before: dict[str, Any], old_url: str) -> None:
    """An edit of its settings; nothing when nothing changed. `before`: fields() before it."""
    changes = diff(before, fields(endpoint))
    if endpoint.kind == ENDPOINT_SLACK:
        changes.pop("url", None)
        if old_url != endpoint.url:
            changes["url"] = [REDACTED, REDACTED]
    if changes:
        record(actions.WEBHOOK_ENDPOINT_UPDATED, target(endpoint), changes)


def record_switched(endpoint: WebhookEndpoint, *, by_system: bool = False) -> None:
    """Enabled or disabled: by the request's user, or by the system (after 24 h failing)."""
    action = (
        actions.WEBHOOK_ENDPOINT_ENABLED if endpoint.enabled else actions.WEBHOOK_ENDPOINT_DISABLED
    )
    changes: dict[str, Any] = {"enabled": [not endpoint.enabled, endpoint.enabled]}
    if not endpoint.enabled and endpoint.disabled_reason:
        changes["reason"] = endpoint.disabled_reason
    if by_system:
        record(action, target(endpoint), changes, actor=None)
    else:
        record(action, target(endpoint), changes)


def record_deleted(endpoint: WebhookEndpoint) -> None:
    gone = fields(endpoint) | {"enabled": endpoint.enabled}
    record(actions.WEBHOOK_ENDPOINT_DELETED, target(endpoint), diff(gone, {}))


def record_secret_rotated(endpoint: WebhookEndpoint) -> None:
    """That the signing secret changed; the log keeps no value of it (safe_changes)."""
    record(actions.WEBHOOK_ENDPOINT_SECRET_ROTATED, target(endpoint), {"secret": [None, None]})
