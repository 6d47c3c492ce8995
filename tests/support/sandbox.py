"""The sandbox's booking page as an invitee meets it: a minted claim token, the page's form
fields, a booking made through the form, and the notifications it queued."""

from __future__ import annotations

import re

from tests.support.signin import hidden_field
from webapp.extensions import db
from webapp.models import OutboxMessage, SandboxBooking, utcnow
from webapp.tracking.tokens import mint_claim_token

RECEIVER = "http://127.0.0.1:9/never-called"


def mint(app, *, now=None, lifetime=3600) -> tuple[str, str]:
    token = mint_claim_token(
        embed_public_key=app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
        embed_secret=app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        now=now or utcnow(),
        lifetime_seconds=lifetime,
    )
    return token.token, token.jti


def booking_url(token: str, code: str = "demo", **extra) -> str:
    query = {"claim_token": token, "correlation_id": "corr-42", "utm_source": "email", **extra}
    return "/sandbox/pls/" + code + "?" + "&".join(f"{k}={v}" for k, v in query.items())


def hidden(page: str, name: str) -> str:
    value = hidden_field(page, name)
    assert value is not None, f"no hidden field {name}"
    return value


def slot_keys(page: str) -> list[str]:
    return re.findall(r'name="slot" value="([^"]+)"', page)


def open_page(client, app, **extra):
    token, jti = mint(app)
    response = client.get(booking_url(token, **extra))
    return response, token, jti


def book(client, app, **answers):
    response, token, jti = open_page(client, app)
    page = response.get_data(as_text=True)
    form = {
        "jti": hidden(page, "jti"),
        "slot": slot_keys(page)[0],
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000",
        "notes": "Step-free access, please.",
        **answers,
    }
    return client.post("/sandbox/pls/demo", data=form), form


def only_booking(app) -> SandboxBooking:
    with app.app_context():
        bookings = db.session.scalars(db.select(SandboxBooking)).all()
        assert len(bookings) == 1
        db.session.expunge_all()
        return bookings[0]


def outbox_rows(app) -> list[OutboxMessage]:
    """The sandbox's notifications in the shared outbox, oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.kind == "sandbox")
            .order_by(OutboxMessage.id)
        ).all()
        db.session.expunge_all()
        return rows
