"""Building and queuing emails: plain text plus simple HTML, from templates/mail/.

An email is composed once, when it is queued (inside the transaction of the change that
causes it), and stored whole in the outbox; its Message-ID stays the same on every retry.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template

from webapp import outbox

KIND = "email"


def enabled() -> bool:
    """Email is on when MAIL_URL is set."""
    return bool(current_app.config.get("MAIL_URL"))


def sender_address() -> str:
    configured = current_app.config.get("MAIL_FROM")
    if configured:
        return str(configured)
    host = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or "").hostname or "localhost"
    return f"Public Links <no-reply@{host}>"


def compose(to: str, subject: str, template: str, now: datetime, **context: Any) -> bytes:
    """The whole message, from templates/mail/<template>.txt and .html."""
    message = EmailMessage()
    message["From"] = sender_address()
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    domain = sender_address().rpartition("@")[2].strip(">") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(render_template(f"mail/{template}.txt", **context))
    message.add_alternative(render_template(f"mail/{template}.html", **context), subtype="html")
    return message.as_bytes(policy=SMTP)


def queue_email(
    to: str,
    subject: str,
    template: str,
    now: datetime,
    *,
    topic: str,
    user_id: int | None = None,
    **context: Any,
) -> int:
    """Queue one email in the caller's transaction; 1, or 0 when email is off."""
    if not enabled() or not to:
        return 0
    body = compose(to, subject, template, now, **context)
    outbox.enqueue(KIND, topic=topic, target=to, target_id=user_id, body=body, now=now)
    return 1
