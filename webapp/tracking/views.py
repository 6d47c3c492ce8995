"""GET /l/<slug>: the shareable tracked link. Thin: classify, ask the service, answer."""

from __future__ import annotations

import re

from flask import Response, current_app, make_response, redirect, render_template, request

from webapp.auth.access import public
from webapp.config import embed_credentials_configured
from webapp.models import utcnow
from webapp.tracking import bp, service
from webapp.tracking.agents import classify_request

# Slugs are token_urlsafe: anything else cannot exist, so it costs no lookup.
SLUG = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A cached answer would replay a token (or a stale refusal); a Referer would leak one.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.get("/l/<slug>")
@public
def follow(slug: str) -> Response:
    """302 to the booking page with a fresh claim token, or a page saying why not."""
    if not SLUG.fullmatch(slug):
        return _page("tracking/not_found.html", 404)
    config = current_app.config
    credentials = None
    if embed_credentials_configured(config):
        credentials = service.EmbedCredentials(
            public_key=config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
            secret=config["CRONOFY_SCHEDULER_EMBED_SECRET"],
            token_lifetime=int(config["CLAIM_TOKEN_TTL"]),
        )
    result = service.follow(
        slug,
        agent_class=classify_request(request.method, request.headers.get("User-Agent")),
        credentials=credentials,
        now=utcnow(),
    )
    if result.outcome in (service.REDIRECT, service.BOOKED):
        response = redirect(result.location or "/")
        response.headers.update(NO_STORE)
        return response
    if result.outcome == service.NOT_FOUND:
        return _page("tracking/not_found.html", 404)
    if result.outcome == service.REFUSED:
        return _page("tracking/gone.html", 410, reason=result.reason)
    if result.outcome == service.UNAVAILABLE:
        response = _page("tracking/unavailable.html", 503)
        response.headers["Retry-After"] = "3600"
        return response
    return _page("tracking/preview.html", 200, slug=slug)


def _page(template: str, status: int, **context: object) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers.update(NO_STORE)
    return response
