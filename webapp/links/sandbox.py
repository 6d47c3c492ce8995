"""Where sandbox Public Links live, when the sandbox is on."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request


def sandbox_origin() -> str | None:
    """The app's own origin (PUBLIC_BASE_URL, else the request's) while WEBAPP_SANDBOX is on.

    Sandbox Public Links are `<origin>/sandbox/pls/<code>`; with the sandbox off there are
    none, and only Cronofy's hosts are accepted.
    """
    if not current_app.config.get("WEBAPP_SANDBOX"):
        return None
    parts = urlsplit(current_app.config.get("PUBLIC_BASE_URL") or request.host_url)
    return f"{parts.scheme}://{parts.netloc}"
