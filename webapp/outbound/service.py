"""Webhook endpoints: the use cases behind /settings/webhooks and /api/v1/webhook-endpoints.

Each writing function is one transaction. Input is validated here, once, for the pages
and the API alike; errors name the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete

from webapp import outbox
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import (
    DISABLED_BY_ADMIN,
    ENDPOINT_KINDS,
    ENDPOINT_WEBHOOK,
    OutboxMessage,
    User,
    WebhookEndpoint,
    utcnow,
)
from webapp.outbound import audit_trail, delivery, events, signing, targets

ROTATION_OVERLAP = timedelta(hours=24)
DESCRIPTION_MAX = 500


class InvalidEndpoint(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {value}" for key, value in fields.items()))
        self.fields = fields


class EndpointNotFound(LookupError):
    """No webhook endpoint has that id."""


class MessageNotFound(LookupError):
    """No message of that endpoint has that id."""


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str | None  # shown once; None for Slack endpoints


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(db.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointNotFound("No webhook endpoint has that id.")
    return endpoint


def clean(data: Mapping[str, Any], *, partial: bool, kind: str | None = None) -> dict[str, Any]:
    """The valid fields of `data`; InvalidEndpoint naming each bad one."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    unknown = set(data) - {"url", "events", "description", "enabled", "kind"}
    for name in sorted(unknown):
        errors[name] = "unknown field"
    if "kind" in data and not partial:
        if data["kind"] not in ENDPOINT_KINDS:
            errors["kind"] = f"one of {', '.join(ENDPOINT_KINDS)}"
        else:
            values["kind"] = data["kind"]
    elif "kind" in data and data["kind"] != kind:
        errors["kind"] = "cannot change; create a new endpoint instead"
    if "url" in data or not partial:
        url = data.get("url")
        if not isinstance(url, str) or not url.strip():
            errors["url"] = "required: the https:// URL to POST to"
        else:
            try:
                delivery.check_url(url.strip())
                values["url"] = url.strip()
            except targets.RefusedTarget as error:
                errors["url"] = str(error)
    if "events" in data or not partial:
        chosen = data.get("events", list(events.DEFAULT_EVENTS))
        if not isinstance(chosen, list) or not all(isinstance(item, str) for item in chosen):
            errors["events"] = "a list of event names"
        elif not chosen:
            errors["events"] = "choose at least one event"
        elif bad := [item for item in chosen if item not in events.EVENT_TYPES]:
            errors["events"] = f"unknown: {', '.join(bad)[:200]}; known: " + ", ".join(
                events.EVENT_TYPES
            )
        else:
            values["events"] = [item for item in events.EVENT_TYPES if item in chosen]
    if "description" in data:
        description = data["description"]
        if description is None:
            description = ""
        if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
            errors["description"] = f"text of at most {DESCRIPTION_MAX} characters"
        elif any(ord(char) < 0x20 for char in description):
            errors["description"] = "no control characters"
        else:
            values["description"] = description.strip()
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors["enabled"] = "true or false"
        else:
            values["enabled"] = data["enabled"]
    if errors:
        raise InvalidEndpoint(errors)
    return values


def create_endpoint(user: User | None, data: Mapping[str, Any]) -> Created:
    values = clean(data, partial=False)
    kind = values.pop("kind", ENDPOINT_WEBHOOK)
    enabled = values.pop("enabled", True)
    secret = signing.new_secret() if kind == ENDPOINT_WEBHOOK else None
    now = utcnow()
    with write_transaction():
        endpoint = WebhookEndpoint(
            kind=kind,
            secret=secret,
            enabled=enabled,
            disabled_at=None if enabled else now,
            disabled_reason=None if enabled else DISABLED_BY_ADMIN,
            created_by_id=user.id if user is not None else None,
            created_at=now,
            updated_at=now,
            description=values.pop("description", ""),
            **values,
        )
        db.session.add(endpoint)
        db.session.flush()  # its id, for the audit entry
        audit_trail.record_created(endpoint)
    return Created(endpoint, secret)


def update_endpoint(endpoint_id: int, data: Mapping[str, Any]) -> WebhookEndpoint:
    endpoint = get_endpoint(endpoint_id)
    values = clean(data, partial=True, kind=endpoint.kind)
    enabled = values.pop("enabled", None)
    now = utcnow()
    with write_transaction():
        endpoint = get_endpoint(endpoint_id)
        before, old_url = audit_trail.fields(endpoint), endpoint.url
        for name, value in values.items():
            setattr(endpoint, name, value)
        audit_trail.record_updated(endpoint, before, old_url)
        if enabled is not None:
            _set_enabled(endpoint, enabled, now)
    return endpoint


def set_enabled(endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    with write_transaction():
        endpoint = get_endpoint(endpoint_id)
        _set_enabled(endpoint, enabled, utcnow())
    return endpoint


def _set_enabled(endpoint: WebhookEndpoint, enabled: bool, now: datetime) -> None:
    """Switch it (and record that in the audit log); nothing when it already is."""
    if enabled == endpoint.enabled:
        return
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_at = endpoint.disabled_reason = None
        endpoint.failing_since = endpoint.warned_at = None
        outbox.release(endpoint.kind, endpoint.id, now)  # what is still pending goes out
    else:
        endpoint.disabled_at, endpoint.disabled_reason = now, DISABLED_BY_ADMIN
        outbox.hold(endpoint.kind, endpoint.id)
    audit_trail.record_switched(endpoint)


def delete_endpoint(endpoint_id: int) -> None:
    """The endpoint, its pending messages and its delivery log."""
    with write_transaction():
        endpoint = get_endpoint(endpoint_id)
        db.session.execute(
            delete(OutboxMessage)
            .where(OutboxMessage.kind == endpoint.kind, OutboxMessage.target_id == endpoint.id)
            .execution_options(synchronize_session=False)
        )
        audit_trail.record_deleted(endpoint)
        db.session.delete(endpoint)


def rotate_secret(endpoint_id: int) -> str:
    """A new signing secret (returned once); the old one keeps signing for 24 h."""
    with write_transaction():
        endpoint = get_endpoint(endpoint_id)
        if endpoint.kind != ENDPOINT_WEBHOOK:
            raise InvalidEndpoint({"kind": "only webhook endpoints have a signing secret"})
        secret = signing.new_secret()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = utcnow() + ROTATION_OVERLAP
        endpoint.secret = secret
        audit_trail.record_secret_rotated(endpoint)
    return secret


def send_test_event(endpoint_id: int) -> None:
    with write_transaction():
        events.queue_test_event(get_endpoint(endpoint_id), utcnow())


def endpoint_messages(endpoint: WebhookEndpoint):  # type: ignore[no-untyped-def]
    return db.select(OutboxMessage).where(
        OutboxMessage.kind == endpoint.kind, OutboxMessage.target_id == endpoint.id
    )


def resend(endpoint_id: int, message_pk: int) -> OutboxMessage:
    """Send one message of the endpoint again, same webhook-id (held while it is off)."""
    with write_transaction():
        endpoint = get_endpoint(endpoint_id)
        row = db.session.scalar(endpoint_messages(endpoint).where(OutboxMessage.id == message_pk))
        if row is None:
            raise MessageNotFound("That endpoint has no message with that id.")
        if row.purged_at is not None:  # its body is gone (RETENTION_DAYS, webapp/retention/)
            raise MessageNotFound("That message's body was removed by retention.")
        outbox.resend(row, utcnow(), held=not endpoint.enabled and row.topic != events.TEST_EVENT)
    return row
