"""Absolute URLs for things staff copy and paste elsewhere (short links, the receiver)."""

from __future__ import annotations

from flask import current_app, request, url_for


def external_url(endpoint: str, **values: object) -> str:
    """PUBLIC_BASE_URL when configured, else the origin of the current request."""
    path = url_for(endpoint, **values)
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base + path
    return request.host_url.rstrip("/") + path
