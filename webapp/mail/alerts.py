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
    # The same for every admin: only the address, and whose it is, differ.
    context = {
        "endpoint": endpoint,
        "name": name,
        "disabled": disabled,
        "shown_url": shown_url,
        "endpoint_url": public_url("outbound.endpoint_detail", endpoint_id=endpoint.id),
    }
    topic = "endpoint.disabled" if disabled else "endpoint.failing"
    return sum(
        queue_email(
            admin.email, subject, "endpoint_alert", now, topic=topic, user_id=admin.id, **context
        )
        for admin in admins()
    )
