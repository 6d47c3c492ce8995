"""GET /l/<slug>: the shareable tracked link. Thin: classify, ask the service, answer.

The hottest path of the app: nothing here loads the signed-in user or writes the session
(so no cookie is set), and the redirect's headers are set once, when it is built.
"""

from __future__ import annotations

import re
from functools import lru_cache

from flask import (
    Flask,
    Response,
    current_app,
    make_response,
    render_template,
    request,
)
from markupsafe import escape

from webapp import security
from webapp.auth.access import public
from webapp.config import embed_credentials_configured
from webapp.extensions import csrf
from webapp.models import utcnow
from webapp.tracking import bp, service
from webapp.tracking.agents import classify_request

# GET only, no forms: Flask-WTF never checks a GET, but it looks the view up on every one.
# (A state-changing route added here would be caught by tests/security/test_csrf.py.)
csrf.exempt(bp)
# Slugs are token_urlsafe: anything else cannot exist, so it costs no lookup.
SLUG = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A cached answer would replay a token (or a stale refusal); a Referer would leak one.
NO_STORE = (("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"))
_HEADERS_KEY = "webapp.tracking.redirect_headers"
# What werkzeug's redirect() sends, built here with all its headers at once.
REDIRECT_PAGE = (
    "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
    "<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: "
    '<a href="{0}">{0}</a>. If not, click the link.\n'
)


@bp.get("/l/<slug>")
@public
def follow(slug: str) -> Response:
    """302 to the booking page with a fresh claim token, or a page saying why not."""
    if not SLUG.fullmatch(slug):
        return _page(render_template("tracking/not_found.html"), 404)
    config = current_app.config
    credentials = None
    if embed_credentials_configured(config):
        credentials = _credentials(
            config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
            config["CRONOFY_SCHEDULER_EMBED_SECRET"],
            int(config["CLAIM_TOKEN_TTL"]),
        )
    result = service.follow(
        slug,
        agent_class=classify_request(request.method, request.environ.get("HTTP_USER_AGENT")),
        credentials=credentials,
        now=utcnow(),
    )
    if result.outcome in (service.REDIRECT, service.BOOKED):
        return _redirect(result.location or "/")
    if result.outcome == service.NOT_FOUND:
        return _page(render_template("tracking/not_found.html"), 404)
    if result.outcome == service.REFUSED:
        return _page(render_template("tracking/gone.html", reason=result.reason), 410)
    if result.outcome == service.UNAVAILABLE:
        response = _page(render_template("tracking/unavailable.html"), 503)
        response.headers["Retry-After"] = "3600"
        return response
    return _page(render_template("tracking/preview.html", slug=slug), 200)


def _redirect(location: str) -> Response:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Location", location), *NO_STORE]
    headers += _security_headers(current_app._get_current_object())  # type: ignore[attr-defined]
    return Response(REDIRECT_PAGE.format(escape(location)), 302, headers)


def _security_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers webapp.security adds to every response, taken from it once per app.

    Sent with the redirect from the start, so that its after_request hook finds each one
    present: adding them one by one there (each a failed lookup that raises and catches an
    exception, then a set) cost 7% of the whole redirect. The values are the hook's own,
    so the two cannot drift apart (tests/test_tracking_perf_units.py).
    """
    try:
        return app.extensions[_HEADERS_KEY]
    except KeyError:
        probe = Response()
        security._set_headers(probe)
        taken = {"content-type", "content-length", *(name.lower() for name, _ in NO_STORE)}
        headers = [
            (name, value) for name, value in probe.headers.items() if name.lower() not in taken
        ]
        return app.extensions.setdefault(_HEADERS_KEY, headers)


@lru_cache(maxsize=8)
def _credentials(public_key: str, secret: str, lifetime: int) -> service.EmbedCredentials:
    return service.EmbedCredentials(public_key=public_key, secret=secret, token_lifetime=lifetime)


def _page(body: str, status: int) -> Response:
    response = make_response(body, status)
    for name, value in NO_STORE:
        response.headers[name] = value
    return response
