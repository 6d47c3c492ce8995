"""A populated install (the security suite's `world`): users of every kind, tokens, links,
bookings.

Every id in `World` is real, so each route of the app can be built with values that exist
(a 404 would prove nothing about who may see a page).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

from tests.support import bookings, factories
from webapp.auth import api_tokens
from webapp.extensions import db
from webapp.models import LinkBatch, SandboxBooking, User, utcnow

# Nothing listens on the discard port: the settings page's test notification fails fast.
UNREACHABLE = "http://127.0.0.1:9"
PUBLIC_LINK_URL = "https://app.cronofy.com/pls/Q5-ZDPM8?keep=1"


@dataclass(frozen=True)
class World:
    app: Flask
    admin_id: int
    staff_id: int
    gone_id: int  # deactivated after signing in
    admin_token: str
    staff_token: str
    revoked_token: str
    gone_token: str
    spare_token_id: int  # an admin token the matrix may revoke
    public_link_id: int
    tracked_link_id: int
    slug: str
    correlation_id: str
    scheduling_request_id: str
    failed_delivery_id: int
    booking_token: str
    booking_request_id: str
    batch_id: int  # a bulk upload's batch of tracked links
    webhook_endpoint_id: int = 0
    outbox_message_pk: int = 0
    sandbox_code: str = "demo"


def build_world(app: Flask) -> World:
    with app.app_context():
        admin = factories.make_user(email="admin@example.com", role="admin", name="Ada Admin")
        staff = factories.make_user(email="staff@example.com", role="staff", name="Sam Staff")
        gone = factories.make_user(email="gone@example.com", role="admin", name="Gone Admin")
        users = {ref.id: db.session.get(User, ref.id) for ref in (admin, staff, gone)}
        admin_token = api_tokens.issue_token(users[admin.id], "matrix admin")
        staff_token = api_tokens.issue_token(users[staff.id], "matrix staff")
        gone_token = api_tokens.issue_token(users[gone.id], "matrix gone")
        revoked_token = api_tokens.issue_token(users[admin.id], "matrix revoked")
        api_tokens.issue_token(users[admin.id], "matrix spare")
        revoked_id = next(
            row.id for row in api_tokens.tokens_of(admin.id) if row.name == "matrix revoked"
        )
        spare_id = next(
            row.id for row in api_tokens.tokens_of(admin.id) if row.name == "matrix spare"
        )
        api_tokens.revoke_token(admin.id, revoked_id)

        # Owned by staff, so that staff and admins alike may change them.
        public_link = factories.make_public_link(owner_id=staff.id, url=PUBLIC_LINK_URL)
        link = factories.make_tracked_link(
            public_link.id, created_by_id=staff.id, label="Candidate", utm_source="email"
        )
        tracked = (link.id, link.slug, link.correlation_id)
        request = bookings.make_request(tracked_link=link, notifications=2)
        failed = bookings.make_delivery(
            body=b'{"not": "a notification"}',
            status="failed",
            error="scheduling_request is missing",
        )
        booking = SandboxBooking(
            scheduling_request_id="srq_sandbox_" + secrets.token_hex(8),
            confirmation_token=secrets.token_urlsafe(24),
            code="demo",
            summary="Sandbox booking with Ada",
            correlation_id=tracked[2],
            utm={},
            slot_start=utcnow() + timedelta(days=2),
            slot_end=utcnow() + timedelta(days=2, minutes=30),
            name="Ada Lovelace",
            email="ada@example.com",
        )
        db.session.add(booking)
        batch = LinkBatch(
            idempotency_key=secrets.token_urlsafe(24),
            public_link_id=public_link.id,
            created_by_id=staff.id,
            filename="matrix.csv",
            columns="correlation_id,label",
            content_sha256="",
            link_count=0,
        )
        db.session.add(batch)
        db.session.commit()
        booking_token = booking.confirmation_token
        booking_request_id = booking.scheduling_request_id
        endpoint, message_pk = _webhook_endpoint()
        batch_id = batch.id
    return World(
        app=app,
        admin_id=admin.id,
        staff_id=staff.id,
        gone_id=gone.id,
        admin_token=admin_token,
        staff_token=staff_token,
        revoked_token=revoked_token,
        gone_token=gone_token,
        spare_token_id=spare_id,
        public_link_id=public_link.id,
        tracked_link_id=tracked[0],
        slug=tracked[1],
        correlation_id=tracked[2],
        scheduling_request_id=request.scheduling_request_id,
        failed_delivery_id=failed,
        booking_token=booking_token,
        booking_request_id=booking_request_id,
        webhook_endpoint_id=endpoint,
        outbox_message_pk=message_pk,
        batch_id=batch_id,
    )


def _webhook_endpoint() -> tuple[int, int]:
    """An outbound webhook endpoint (stored as is: the SSRF guard would refuse the
    unreachable loopback URL) with one queued message."""
    from webapp import outbox
    from webapp.models import WebhookEndpoint
    from webapp.outbound.signing import new_secret

    endpoint = WebhookEndpoint(
        url=UNREACHABLE + "/hooks", events=["tracked_link.created"], secret=new_secret()
    )
    db.session.add(endpoint)
    db.session.flush()
    message = outbox.enqueue(
        "webhook", topic="webhook.test", target=endpoint.url, target_id=endpoint.id, body=b"{}"
    )
    db.session.commit()
    return endpoint.id, message.id


def deactivate(app: Flask, user_id: int) -> None:
    """Switch the account off in place: the loader's `active` check alone must end it."""
    with app.app_context():
        user = db.session.get(User, user_id)
        user.active = False
        db.session.commit()
