"""Sending one stored email over SMTP (smtplib): the outbox's sender for kind "email"."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email import message_from_bytes
from email.utils import getaddresses

from flask import current_app

from webapp import outbox
from webapp.mail.settings import MailSettings, MailUrlError, parse_mail_url

TIMEOUT_SECONDS = 15.0


def settings() -> MailSettings | None:
    url = current_app.config.get("MAIL_URL")
    return parse_mail_url(url) if url else None


def deliver(mail: MailSettings, sender: str, recipient: str, body: bytes) -> None:
    """One SMTP session; raises smtplib/OS errors."""
    context = ssl.create_default_context()
    if mail.use_ssl:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            mail.host, mail.port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(mail.host, mail.port, timeout=TIMEOUT_SECONDS)
    with client:
        if mail.starttls:
            client.starttls(context=context)
        if mail.username:
            client.login(mail.username, mail.password or "")
        client.sendmail(sender, [recipient], body)


def send(message: outbox.Message, now: datetime) -> outbox.SendResult:
    try:
        mail = settings()
    except MailUrlError as error:
        return outbox.SendResult(ok=False, error=str(error))
    if mail is None:
        return outbox.SendResult(ok=False, hold=True)  # email turned off: wait for it
    parsed = message_from_bytes(message.body)
    sender = (getaddresses([parsed.get("From", "")]) or [("", "")])[0][1]
    try:
        deliver(mail, sender, message.target, message.body)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return outbox.SendResult(
            ok=False,
            status=codes[0] if codes else None,
            error="recipient refused",
            give_up=permanent,
        )
    except smtplib.SMTPResponseException as error:
        text = (
            error.smtp_error.decode("utf-8", "replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return outbox.SendResult(ok=False, status=error.smtp_code, error=text[:500])
    except (smtplib.SMTPException, OSError) as error:
        return outbox.SendResult(ok=False, error=str(error) or type(error).__name__)
    return outbox.SendResult(ok=True, status=250, response="accepted")
