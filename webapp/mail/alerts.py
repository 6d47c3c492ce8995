"""Emails to every admin when an outbound webhook endpoint fails for long, or is disabled."""

from __future__ import annotations

from datetime import datetime

from webapp.absolute import public_url
from webapp.extensions import db
from webapp.mail.compose import queue_email
from webapp.models import ROLE_ADMIN, User, WebhookEndpoint


def admins() -> list[User]:
    return list(
        db.session.scalars(
            db.select(User).where(User.role == ROLE_ADMIN, User.active.is_(True)).order_by(User.id)
        )
    )


def queue_endpoint_alert(
    endpoint: WebhookEndpoint, *, disabled: bool, now: datetime, shown_url: str
) -> int:
    """Tell every admin (inside the caller's transaction); how many emails were queued.
    `shown_url`: the endpoint's URL as it may be shown (a Slack URL is masked)."""
    name = endpoint.description or f"endpoint #{endpoint.id}"
    subject = (
        f"Webhook endpoint disabled after 24 hours of failures: {name}"
        if disabled
        else f"Webhook endpoint failing for 12 hours: {name}"
    )
    url = public_url("outbound.endpoint_detail", endpoint_id=endpoint.id)
    return sum(
        queue_email(
            admin.email,
            subject,
            "endpoint_alert",
            now,
            topic="endpoint.disabled" if disabled else "endpoint.failing",
            user_id=admin.id,
            endpoint=endpoint,
            name=name,
            disabled=disabled,
            shown_url=shown_url,
            endpoint_url=url,
        )
        for admin in admins()
    )
