"""Security headers on every response and the sign-in requirement on every staff page.

Every endpoint needs a signed-in, active user unless its view is marked with
`webapp.auth.access.public` or it belongs to the JSON API (which has its own bearer-token
check). Deny by default, so a new page cannot be left open by forgetting a decorator.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def init_app(app: Flask) -> None:
    app.before_request(_require_sign_in)
    app.after_request(_set_headers)


def _require_sign_in():  # type: ignore[no-untyped-def]
    if request.endpoint is None or request.endpoint == "static":
        return None
    if request.blueprint == "api":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        from webapp.extensions import login_manager

        return login_manager.unauthorized()
    return None


def _set_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
