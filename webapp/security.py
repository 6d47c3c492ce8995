"""Security headers on every response, and ids in URLs that no database key can hold.

The sign-in requirement, the cookie session and CSRF (the staff pages' machinery) are in
`webapp/staff_pages.py`.
"""

from __future__ import annotations

from flask import Flask, Response, current_app
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

# Added to every response that does not set its own (the tracked-link redirect sends a
# stricter Referrer-Policy, for instance).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
# Only behind https (SESSION_COOKIE_SECURE): over plain http it would be ignored anyway.
HSTS = ("Strict-Transport-Security", "max-age=31536000")


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
    app.after_request(set_security_headers)


# (lower-cased name, name, value): compared against the response's names once each.
_PLAIN = tuple((name.lower(), name, value) for name, value in SECURITY_HEADERS)
_WITH_HSTS = (*_PLAIN, (HSTS[0].lower(), *HSTS))


def set_security_headers(response: Response) -> Response:
    """Add each of SECURITY_HEADERS (and HSTS over https) that the response lacks."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    wanted = _WITH_HSTS if current_app.config["SESSION_COOKIE_SECURE"] else _PLAIN
    for lower, name, value in wanted:
        if lower not in present:
            headers.add(name, value)
    return response
