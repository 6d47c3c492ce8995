"""Cronofy deliveries for tests and benchmarks: payloads, signatures, posting, reading back.

One copy of Cronofy's documented example (example_payload.json beside this file) and one
loader for it; signed posts through the Flask test client (`post_signed`) or over HTTP
(`signed_headers` for any HTTP client); and read-backs of what the receiver stored.
"""

from __future__ import annotations

import copy
import json
import secrets
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from webapp.database import write_connection
from webapp.extensions import db
from webapp.models import Delivery, RefusedDelivery, SchedulingRequest, utcnow
from webapp.webhooks import receiver, store
from webapp.webhooks.signatures import HEADER, sign

RECEIVER = "/webhooks/cronofy"
EXAMPLE_PATH = Path(__file__).with_name("example_payload.json")
EXAMPLE_SCHEDULING_REQUEST_ID = "srq_80f7fece4f37897d62d86d80"


@cache
def _example_text() -> str:
    return EXAMPLE_PATH.read_text()


def example_payload() -> dict[str, Any]:
    """Cronofy's documented scheduling_request_time_chosen notification, as a fresh dict."""
    return copy.deepcopy(json.loads(_example_text()))


def example_body() -> bytes:
    """The documented example as bytes, exactly as stored in the repository."""
    return EXAMPLE_PATH.read_bytes()


def notification_body(
    srq_id: str | None = None,
    type_: str = "scheduling_request_time_chosen",
    triggered_at: str = "2025-01-19T16:14:11Z",
    correlation_id: str | None = None,
    summary: str = "Interview",
    recipients: list | None = None,
    **request_fields: Any,
) -> bytes:
    """A small notification: the given fields, one invitee unless `recipients` says otherwise,
    and scheduler metadata with the correlation ID (empty without one)."""
    scheduler = {"correlation_id": correlation_id} if correlation_id else {}
    document = {
        "notification": {"type": type_, "triggered_at": triggered_at},
        "scheduling_request": {
            "scheduling_request_id": srq_id or "srq_" + secrets.token_hex(8),
            "summary": summary,
            "recipients": recipients
            if recipients is not None
            else [{"email": "ann@example.com", "display_name": "Ann Invitee"}],
            "event": {"metadata": {"scheduler": scheduler}},
            **request_fields,
        },
    }
    return json.dumps(document).encode()


def signed_headers(body: bytes, client_secret: str) -> dict[str, str]:
    """The headers Cronofy sends with a notification: its content type and the HMAC."""
    return {
        HEADER: sign(body, client_secret),
        "Content-Type": "application/json; charset=utf-8",
    }


def post_signed(
    client: FlaskClient, body: bytes, secret: str | None = None, header: str | None = None
) -> TestResponse:
    """POST body to the receiver through the test client, signed with `secret` (the app's
    first client secret by default) or with the given header value as it is."""
    if header is None:
        header = sign(body, secret or client.application.config["CLIENT_SECRETS"][0])
    headers = {HEADER: header, "Content-Type": "application/json; charset=utf-8"}
    return client.post(RECEIVER, data=body, headers=headers)


def store_unapplied(app: Flask, body: bytes) -> int:
    """Store a body exactly as the receiver does, and apply nothing: what a server that died
    between acknowledging and applying leaves behind (pending). Its delivery id."""
    with app.app_context():
        incoming = receiver.read(body, utcnow(), db.engine.dialect)
        with write_connection(db.engine) as connection:
            ids = store.insert_deliveries(connection, [incoming.values])
        db.session.remove()
    return ids[incoming.digest]


def deliveries(app: Flask) -> list[Delivery]:
    """Every stored delivery, oldest first (detached: usable outside the app context)."""
    with app.app_context():
        rows = list(db.session.execute(db.select(Delivery).order_by(Delivery.id)).scalars())
        db.session.expunge_all()
        return rows


def scheduling_request(app: Flask, srq_id: str) -> SchedulingRequest | None:
    with app.app_context():
        row = db.session.execute(
            db.select(SchedulingRequest).where(SchedulingRequest.scheduling_request_id == srq_id)
        ).scalar_one_or_none()
        db.session.expunge_all()
        return row


def refusals(app: Flask) -> list[RefusedDelivery]:
    """The refusal counts written so far (this process's are written first)."""
    from webapp.webhooks import refusals as counting

    counting.flush(app)
    with app.app_context():
        rows = list(
            db.session.execute(db.select(RefusedDelivery).order_by(RefusedDelivery.id)).scalars()
        )
        db.session.expunge_all()
        return rows


def count_with_status(database_url: str, status: str) -> int:
    """How many deliveries have `status` in the database at `database_url`: a running
    server's, read from outside it (its own engine, disposed after)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            query = text("SELECT count(*) FROM deliveries WHERE status = :status")
            return int(connection.execute(query, {"status": status}).scalar_one())
    finally:
        engine.dispose()
