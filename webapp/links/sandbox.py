"""Where sandbox Public Links live, when the sandbox is on."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

from webapp.urls import public_origin


def sandbox_origin() -> str | None:
    """The app's own origin (`public_origin()`) while WEBAPP_SANDBOX is on, else None.

    Sandbox Public Links are `<origin>/sandbox/pls/<code>`; with the sandbox off there are
    none, and only Cronofy's hosts are accepted. Never the request's Host: a forged one
    would let a sandbox link point at another site.
    """
    if not current_app.config.get("WEBAPP_SANDBOX"):
        return None
    parts = urlsplit(public_origin())
    return f"{parts.scheme}://{parts.netloc}"
