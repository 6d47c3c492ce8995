"""Booking from a sandbox Public Link opened without a claim token ("walk-in").

Cronofy takes such bookings and sends no notification for them; the sandbox does the same.
The booking page gives the browser session a one-off pass id; the booking is recorded under
a claim of its own (`walk-in:<pass id>`), so that submitting the form twice books once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import SandboxBooking, SandboxClaim
from webapp.sandbox import service
from webapp.sandbox.forms import Answers

# No real claim token has this jti (the app's are UUIDs); it lasts as long as one could.
WALK_IN_PREFIX = "walk-in:"
WALK_IN_TTL = timedelta(hours=4)


def check_pass(pass_id: str, passes: Collection[str]) -> None:
    """Refuse a walk-in form that this browser session was not given."""
    if pass_id not in passes:
        raise service.ClaimNotAccepted(
            "This booking form does not belong to this browser session. "
            "Open the booking page again."
        )


def book(
    pass_id: str,
    code: str,
    slot_key: str,
    answers: Answers,
    *,
    now: datetime,
    passes: Collection[str],
) -> SandboxBooking:
    """Book for a visitor who came without a claim token; no notification is sent.

    Cronofy takes such bookings and tells nobody. `pass_id` is the one-off id the booking
    page gave this browser session (`passes`); it is recorded as a claim of its own so that
    submitting twice still books once.
    """
    check_pass(pass_id, passes)
    try:
        return _book_walk_in(WALK_IN_PREFIX + pass_id, code, slot_key, answers, now)
    except IntegrityError:
        # The same form submitted twice at once: the other submission made the claim first.
        return _book_walk_in(WALK_IN_PREFIX + pass_id, code, slot_key, answers, now)


def _book_walk_in(
    jti: str, code: str, slot_key: str, answers: Answers, now: datetime
) -> SandboxBooking:
    with write_transaction():
        claim = service.claim_by_jti(jti)
        if claim is None:
            claim = SandboxClaim(
                jti=jti, code=code, utm={}, accepted_at=now, expires_at=now + WALK_IN_TTL
            )
            db.session.add(claim)
            db.session.flush()
        elif claim.code != code:
            raise service.ClaimNotAccepted("This booking form belongs to another booking page.")
        return service.book_once(claim, slot_key, answers, now, claimed=False)
