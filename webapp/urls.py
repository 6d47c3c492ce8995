"""URLs the app hands out: absolute links staff copy elsewhere, page paths, safe `next`.

One place for each, so that the pages, the JSON API, the CSV downloads and the sandbox
agree on what a tracked link's short URL or a Scheduling Request's page is.

Every absolute URL starts with `public_origin()`, never with the request's Host header:
those URLs are posted to by the server itself (the sandbox's notifications, the settings
page's test), stored, or handed to other people, and a Host header is whatever the client
chose to send.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for

NEXT_MAX_LENGTH = 2000
# Where a server without PUBLIC_BASE_URL and without a TCP address of its own (a Unix
# socket, no request at hand) says it lives: a fixed value, never one a client chose.
FALLBACK_ORIGIN = "http://localhost"
_HOST_NAME = re.compile(r"[A-Za-z0-9.-]{1,253}")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def public_origin() -> str:
    """The app's origin, `scheme://host[:port]`, for every absolute URL it makes.

    PUBLIC_BASE_URL when configured; otherwise the address this server listens on (a
    newcomer's http://127.0.0.1:5000), read from the WSGI environ's SERVER_NAME and
    SERVER_PORT, which gunicorn and Werkzeug's server fill from the listening socket, not
    from the Host header.
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return str(base)
    if not has_request_context():
        return FALLBACK_ORIGIN
    return listening_origin(request.environ)


def listening_origin(environ: Mapping[str, Any]) -> str:
    """`scheme://host:port` of the socket the server accepted this request on.

    Under TRUSTED_PROXIES, ProxyFix rewrites SERVER_NAME, SERVER_PORT and the scheme from
    X-Forwarded-Host/-Port/-Proto (which carry the client's Host); it keeps the socket's own
    values under "werkzeug.proxy_fix.orig", and those are used here. gunicorn on a Unix
    socket fills SERVER_NAME from the Host header, so there is no address to use then.
    Anything that is not an address and a port gives FALLBACK_ORIGIN.
    """
    own = environ.get("werkzeug.proxy_fix.orig") or environ
    connection = environ.get("gunicorn.socket")
    if getattr(connection, "family", None) == getattr(socket, "AF_UNIX", None):
        return FALLBACK_ORIGIN
    if connection is not None:
        # gunicorn sets wsgi.url_scheme from X-Forwarded-Proto sent from forwarded_allow_ips;
        # the socket itself says whether it speaks TLS.
        scheme = "https" if isinstance(connection, ssl.SSLSocket) else "http"
    else:
        scheme = "https" if own.get("wsgi.url_scheme") == "https" else "http"
    host = _listening_host(str(own.get("SERVER_NAME") or ""))
    port = str(own.get("SERVER_PORT") or "")
    if host is None or not (port == "" or (port.isdigit() and 0 < int(port) < 65536)):
        return FALLBACK_ORIGIN
    if port in ("", _DEFAULT_PORTS[scheme]):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _listening_host(name: str) -> str | None:
    """The host part of a URL for a socket's address; None when it is not an address."""
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name.lower() if _HOST_NAME.fullmatch(name) else None
    if address.is_unspecified:  # bound to every interface: reach it on loopback
        return "[::1]" if address.version == 6 else "127.0.0.1"
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def external_url(endpoint: str, **values: object) -> str:
    """The absolute URL of an endpoint: public_origin() + its path."""
    return public_origin() + url_for(endpoint, **values)


def short_url(slug: str) -> str:
    """The shareable, absolute URL of a tracked link: <origin>/l/<slug>."""
    return external_url("tracking.follow", slug=slug)


def request_url(scheduling_request_id: str) -> str:
    """The page of one Scheduling Request (a path on this site)."""
    return url_for("live.request_detail", scheduling_request_id=scheduling_request_id)


def tracked_link_path(tracked_link_id: int) -> str:
    """The page of one tracked link (a path on this site)."""
    return url_for("links.tracked_link_detail", link_id=tracked_link_id)


def safe_next(target: str | None) -> str | None:
    """The target when it is a path on this site ("/links?x=1"), else None.

    Refuses anything a browser could read as another origin: "//host", "/\\host" (browsers
    treat a backslash as a slash), control characters (browsers drop tabs and newlines, so
    "/\\t/host" becomes "//host"), and any scheme ("javascript:", "https:").
    """
    if not target or len(target) > NEXT_MAX_LENGTH:
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
