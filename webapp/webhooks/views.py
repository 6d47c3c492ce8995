"""The receiver (POST /webhooks/cronofy) and the admin settings page.

The receiver answers as docs/architecture.md's receiver table says: 503 without a client
secret, 413 over MAX_CONTENT_LENGTH, 401 (counted, body not kept) unless the HMAC header
matches the raw bytes, and 2xx for every authentic delivery once it is stored durably:
`{"status": "stored"}`, `"duplicate"` (the same bytes were stored before) or `"failed"`
(authentic but unreadable, stored with the reason). Applying it to its Scheduling Request
follows off the request (receiver.py). 503 with Retry-After when it could not be stored
within RECEIVER_WAIT_SECONDS, so that Cronofy retries. The admin event log lives in
event_log.py, on the same blueprint.
"""

from __future__ import annotations

import json
import logging

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from webapp.auth.access import admin_required, public, sessionless
from webapp.config import embed_credentials_configured
from webapp.errors import json_error
from webapp.extensions import csrf
from webapp.groupcommit import Busy, WriteFailed
from webapp.models import utcnow
from webapp.urls import external_url
from webapp.webhooks import bp, queries, receiver, refusals, sample
from webapp.webhooks.signatures import HEADER, header_values, is_authentic

log = logging.getLogger(__name__)

NO_SECRET_MESSAGE = (
    "No Cronofy client secret is configured (CRONOFY_CLIENT_SECRET), so this receiver "
    "cannot verify notifications and accepts none."
)
NOT_STORED_MESSAGE = "The delivery could not be stored just now; please retry."
# The three 2xx bodies, encoded once: every delivery gets one of them.
ANSWER_BODIES = {
    status: json.dumps({"status": status}, separators=(",", ":")).encode() + b"\n"
    for status in (receiver.STORED, receiver.DUPLICATE, receiver.FAILED)
}
RETRY_AFTER_SECONDS = 5


@bp.post("/webhooks/cronofy")
@sessionless
@public
@csrf.exempt
def receive():  # type: ignore[no-untyped-def]
    client_secrets = current_app.config.get("CLIENT_SECRETS") or []
    if not client_secrets:
        return json_error(503, NO_SECRET_MESSAGE, code="not_configured")
    body = _read_body()
    header = request.headers.get(HEADER)
    if not is_authentic(body, header, client_secrets):
        reason = (
            f"{HEADER} header does not match any configured client secret"
            if header_values(header)
            else f"missing {HEADER} header"
        )
        _record_refusal(reason)
        return json_error(401, reason, code="invalid_signature")
    try:
        status = receiver.receive(body)
    except (Busy, WriteFailed) as exc:
        # Not stored (or not known to be): never a 2xx then. Cronofy retries, and a retry
        # of a body that did get stored after all is a duplicate, answered 2xx.
        log.warning("delivery not stored (%s); answering 503 so that it is retried", exc)
        response, code = json_error(503, NOT_STORED_MESSAGE, code="not_stored")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, code
    return current_app.response_class(ANSWER_BODIES[status], mimetype="application/json")


def _read_body() -> bytes:
    """The raw bytes, exactly as signed; 413 past MAX_CONTENT_LENGTH.

    Werkzeug refuses a declared Content-Length over the limit, but silently stops reading
    a chunked body at the limit; a body without a length that fills the limit is taken to
    be over it rather than checked truncated.
    """
    body = request.get_data(cache=False)
    limit = request.max_content_length
    if limit is not None and request.content_length is None and len(body) >= limit:
        raise RequestEntityTooLarge()
    return body


def _record_refusal(reason: str) -> None:
    try:
        refusals.record(current_app, request.remote_addr, reason)
    except Exception:  # recording is bookkeeping: the caller still gets its 401
        log.exception("could not record a refused delivery")


@bp.get("/settings")
@admin_required
def settings():  # type: ignore[no-untyped-def]
    config = current_app.config
    return render_template(
        "webhooks/settings.html",
        receiver_url=external_url("webhooks.receive"),
        embed_public_key=config.get("CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"),
        embed_secret_set=bool(config.get("CRONOFY_SCHEDULER_EMBED_SECRET")),
        embed_ready=embed_credentials_configured(config),
        client_secret_count=len(config.get("CLIENT_SECRETS") or []),
        sandbox=bool(config.get("WEBAPP_SANDBOX")),
        generated=bool(config.get("SANDBOX_CREDENTIALS_GENERATED")),
        last_delivery_at=queries.last_delivery_at(),
        public_base_url=config.get("PUBLIC_BASE_URL"),
    )


@bp.post("/settings/test-notification")
@admin_required
def send_test_notification():  # type: ignore[no-untyped-def]
    client_secrets = current_app.config.get("CLIENT_SECRETS") or []
    if not client_secrets:
        flash(f"Nothing sent. {NO_SECRET_MESSAGE}", "error")
        return redirect(url_for("webhooks.settings"))
    url = external_url("webhooks.receive")
    signed = sample.build_sample(client_secrets, now=utcnow())
    result = sample.send_sample(url, signed)
    took = f"{result.seconds * 1000:.0f} ms"
    if result.ok:
        flash(
            f"Test notification delivered to {url}: HTTP {result.status_code} in {took}. "
            f"It shows as scheduling request {signed.scheduling_request_id} "
            f"(correlation ID {signed.correlation_id}).",
            "success",
        )
    elif result.status_code is not None:
        flash(f"The receiver at {url} answered HTTP {result.status_code} in {took}.", "error")
    else:
        flash(
            f"Could not reach the receiver at {url} ({result.error}, after {took}). The app "
            "posts to itself, which needs a server that answers two requests at once "
            "(gunicorn with gthread workers, or `flask run` with threads); also check "
            "PUBLIC_BASE_URL.",
            "error",
        )
    return redirect(url_for("webhooks.settings"))
