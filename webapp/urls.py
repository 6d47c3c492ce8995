"""URLs the app hands out: absolute links staff copy elsewhere, page paths, safe `next`.

One place for each, so that the pages, the JSON API, the CSV downloads and the sandbox
agree on what a tracked link's short URL or a Scheduling Request's page is.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request, url_for

NEXT_MAX_LENGTH = 2000


def external_url(endpoint: str, **values: object) -> str:
    """PUBLIC_BASE_URL when configured, else the origin of the current request."""
    path = url_for(endpoint, **values)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + path
    return request.host_url.rstrip("/") + path


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
