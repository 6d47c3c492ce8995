"""Security headers on every response and the sign-in requirement on every staff page.

Every endpoint needs a signed-in, active user unless its view is marked with
`webapp.auth.access.public` or it belongs to the JSON API (which has its own bearer-token
check). Deny by default, so a new page cannot be left open by forgetting a decorator.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

# The largest primary key an INTEGER column holds on PostgreSQL (SQLite's are wider). An id
# in a URL or filter beyond it cannot exist, and passing it to the database is an error.
MAX_DATABASE_ID = 2**31 - 1

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


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in routes: an id no database key can hold names nothing, so 404.

    Raised here rather than failing the match (werkzeug would answer 405 when a rule for
    another method matched first), and before the view could pass it to the database.
    """

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > MAX_DATABASE_ID:
            raise NotFound()
        return number


def init_app(app: Flask) -> None:
    # Before any blueprint registers its routes, so that every rule gets these.
    app.url_map.converters["int"] = DatabaseIdConverter
    # No routing redirects: werkzeug would answer "/l//<slug>" with a 308 to an absolute URL
    # built from the request's Host header; a path that is not a route is simply a 404.
    app.url_map.merge_slashes = False
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
