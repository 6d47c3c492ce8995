"""Is a request's `Origin` header this app's own origin? (Pure: no Flask, no database.)

Browsers send `Origin` on every cross-origin POST, PUT, PATCH and DELETE (and on
same-origin ones too, mostly). A state-changing request whose Origin names another site
was started by that site's page, so the staff pages refuse it whatever its CSRF token
says, over plain http too (where the Referer check Flask-WTF does for https is skipped).
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise(origin: str) -> str | None:
    """'HTTPS://Example.com:443' -> 'https://example.com'; None for anything not an origin
    (including the opaque 'null' sent by sandboxed frames and some redirects)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.path not in ("", "/"):
        return None
    if parts.username is not None or parts.query or parts.fragment:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_own_origin(origin: str, own_origins: list[str]) -> bool:
    """True when `origin` (a request's Origin header) is one of `own_origins`."""
    wanted = normalise(origin)
    return wanted is not None and wanted in {normalise(own) for own in own_origins}
