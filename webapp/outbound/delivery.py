"""Sending outbound webhook and Slack messages: the outbox's senders for both kinds.

At each attempt the endpoint is read again (its URL and secrets may have changed, it may be
disabled: then the message is held until it is enabled again), its URL is checked by the
SSRF guard and the request goes to the checked address. Standard Webhooks headers are
made per attempt: the same webhook-id every time, this attempt's webhook-timestamp, and a
signature with every secret in use (the previous one too, for 24 h after a rotation).
"""

from __future__ import annotations

import time
from datetime import datetime

from flask import current_app

from webapp import outbox
from webapp.extensions import db
from webapp.models import ENDPOINT_SLACK, WebhookEndpoint
from webapp.outbound import signing, targets, transport
from webapp.outbound.events import TEST_EVENT


def allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS"))


def require_https() -> bool:
    """https only in production (sandbox off), unless private targets are allowed."""
    return not current_app.config.get("WEBAPP_SANDBOX") and not allow_private()


def check_url(url: str) -> targets.Target:
    return targets.check(url, allow_private=allow_private(), require_https=require_https())


def secrets_in_use(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret] if endpoint.secret else []
    until = endpoint.previous_secret_until
    if endpoint.previous_secret and until is not None and until > now:
        found.append(endpoint.previous_secret)
    return found


def secrets_rotating_until(endpoint: WebhookEndpoint, now: datetime) -> datetime | None:
    """When the previous secret stops signing, while a rotation is under way."""
    until = endpoint.previous_secret_until
    return until if endpoint.previous_secret and until is not None and until > now else None


def send(message: outbox.Message, now: datetime) -> outbox.SendResult:
    endpoint = db.session.get(WebhookEndpoint, message.target_id)
    if endpoint is None:
        return outbox.SendResult(ok=False, give_up=True, error="the endpoint was deleted")
    if not endpoint.enabled and message.topic != TEST_EVENT:
        return outbox.SendResult(ok=False, hold=True)
    url, kind = endpoint.url, endpoint.kind
    keys = secrets_in_use(endpoint, now)
    db.session.rollback()  # no transaction stays open during the request
    try:
        target = check_url(url)
    except targets.RefusedTarget as error:
        return outbox.SendResult(ok=False, error=f"refused by the SSRF guard: {error}")
    headers = {"Content-Type": "application/json"}
    if kind != ENDPOINT_SLACK:
        # The time of this attempt, whatever clock scheduled it: receivers check it.
        stamp = int(time.time())
        headers.update(signing.headers(keys, message.message_id, stamp, message.body))
    config = current_app.config
    answer = transport.post(
        target,
        message.body,
        headers,
        connect_timeout=float(config["OUTBOUND_CONNECT_TIMEOUT"]),
        read_timeout=float(config["OUTBOUND_READ_TIMEOUT"]),
    )
    error = None
    if not answer.ok:
        error = answer.error or f"HTTP {answer.status}: only a 2xx answer counts as delivered"
    return outbox.SendResult(ok=answer.ok, status=answer.status, response=answer.body, error=error)
