"""GET /l/<slug>: the shareable tracked link. Thin: classify, ask the service, answer."""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)

from webapp.auth.access import public
from webapp.config import embed_credentials_configured
from webapp.models import utcnow
from webapp.tracking import service
from webapp.tracking.agents import classify_request

bp = Blueprint("tracking", __name__)
# Slugs are token_urlsafe: anything else cannot exist, so it costs no lookup.
SLUG = re.compile(r"[A-Za-z0-9_-]{1,32}")


@bp.get("/l/<slug>")
@public
def follow(slug: str) -> Response:
    """302 to the booking page with a fresh claim token, or a page saying why not."""
    config = current_app.config
    credentials = None
    if embed_credentials_configured(config):
        credentials = service.EmbedCredentials(
            public_key=config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
            secret=config["CRONOFY_SCHEDULER_EMBED_SECRET"],
            token_lifetime=int(config["CLAIM_TOKEN_TTL"]),
        )
    result = (
        service.follow(
            slug,
            agent_class=classify_request(request.method, request.headers.get("User-Agent")),
            credentials=credentials,
            now=utcnow(),
        )
        if SLUG.fullmatch(slug)
        else service.FollowResult(service.NOT_FOUND)
    )
    if result.outcome in (service.REDIRECT, service.BOOKED):
        response = redirect(result.location or "/", code=302)
    elif result.outcome == service.NOT_FOUND:
        response = make_response(render_template("tracking/not_found.html"), 404)
    elif result.outcome == service.REFUSED:
        response = make_response(render_template("tracking/gone.html", reason=result.reason), 410)
    elif result.outcome == service.UNAVAILABLE:
        response = make_response(render_template("tracking/unavailable.html"), 503)
        response.headers["Retry-After"] = "3600"
    else:
        response = make_response(render_template("tracking/preview.html", slug=slug), 200)
    # A cached answer would replay a token (or a stale refusal); a Referer would leak one.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
