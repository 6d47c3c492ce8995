"""MAIL_URL, read: `smtp://user:pass@host:port`, `smtps://...` (TLS from the start), and
`?starttls=1` (upgrade a plain connection). Pure: no Flask."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit


class MailUrlError(ValueError):
    """MAIL_URL cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    use_ssl: bool
    starttls: bool

    def __repr__(self) -> str:  # never show the password in a log or traceback
        return f"MailSettings(host={self.host!r}, port={self.port}, ssl={self.use_ssl})"


def parse_mail_url(url: str) -> MailSettings:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise MailUrlError("MAIL_URL is not a valid URL") from error
    if parts.scheme not in ("smtp", "smtps"):
        raise MailUrlError("MAIL_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailUrlError("MAIL_URL needs a host, e.g. smtp://mail.example.com:587")
    query = parse_qs(parts.query)
    starttls = (query.get("starttls") or ["0"])[0].lower() in ("1", "true", "yes", "on")
    use_ssl = parts.scheme == "smtps"
    if use_ssl and starttls:
        raise MailUrlError("MAIL_URL: use smtps:// or ?starttls=1, not both")
    default_port = 465 if use_ssl else (587 if starttls else 25)
    return MailSettings(
        host=parts.hostname,
        port=port or default_port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=use_ssl,
        starttls=starttls,
    )
