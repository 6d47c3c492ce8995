"""GET /l/<slug>: the shareable tracked link. Thin: classify, ask the service, answer.

The hottest path of the app: nothing here loads the signed-in user or writes the session
(so no cookie is set), and the redirect's headers are set once, when it is built.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, current_app, make_response, render_template, request

from webapp.auth.access import public
from webapp.config import embed_credentials_configured
from webapp.models import utcnow
from webapp.tracking import service
from webapp.tracking.agents import classify_request

bp = Blueprint("tracking", __name__)
# Slugs are token_urlsafe: anything else cannot exist, so it costs no lookup.
SLUG = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A cached answer would replay a token (or a stale refusal); a Referer would leak one.
NO_STORE = (("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"))


@bp.get("/l/<slug>")
@public
def follow(slug: str) -> Response:
    """302 to the booking page with a fresh claim token, or a page saying why not."""
    if not SLUG.fullmatch(slug):
        return _page(render_template("tracking/not_found.html"), 404)
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
        agent_class=classify_request(request.method, request.environ.get("HTTP_USER_AGENT")),
        credentials=credentials,
        now=utcnow(),
    )
    if result.outcome in (service.REDIRECT, service.BOOKED):
        response = current_app.redirect(result.location or "/", code=302)
        response.headers.extend(NO_STORE)  # a fresh redirect has neither header yet
        return response
    if result.outcome == service.NOT_FOUND:
        return _page(render_template("tracking/not_found.html"), 404)
    if result.outcome == service.REFUSED:
        return _page(render_template("tracking/gone.html", reason=result.reason), 410)
    if result.outcome == service.UNAVAILABLE:
        response = _page(render_template("tracking/unavailable.html"), 503)
        response.headers["Retry-After"] = "3600"
        return response
    return _page(render_template("tracking/preview.html", slug=slug), 200)


def _page(body: str, status: int) -> Response:
    response = make_response(body, status)
    for name, value in NO_STORE:
        response.headers[name] = value
    return response
