"""The sandbox's use cases: open the booking page, book, reschedule, decline.

Each booking change and its notification are written in one transaction; the notification
is sent afterwards by the outbox's background sender, never inside the invitee's request.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import asdict
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import OutboxMessage, PublicLink, SandboxBooking, SandboxClaim, TrackedLink
from webapp.models.sandbox import SANDBOX_DECLINED, SANDBOX_RESCHEDULED, SANDBOX_TIME_CHOSEN
from webapp.sandbox import dispatch, notifications, outbox, verify
from webapp.sandbox.dispatch import NotConfigured
from webapp.sandbox.forms import Answers, LinkContext
from webapp.sandbox.slots import find_slot


class SandboxError(Exception):
    """A request the sandbox cannot honour; the message is for the invitee."""


class ClaimNotAccepted(SandboxError):
    pass


class SlotUnavailable(SandboxError):
    pass


class BookingClosed(SandboxError):
    pass


def _embed_credentials() -> tuple[str, str]:
    config = current_app.config
    public_key = config.get("CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY")
    secret = config.get("CRONOFY_SCHEDULER_EMBED_SECRET")
    if not public_key or not secret:
        raise NotConfigured("The sandbox has no Embed credentials to check claim tokens with.")
    return public_key, secret


def claim_by_jti(jti: str) -> SandboxClaim | None:
    return db.session.scalar(db.select(SandboxClaim).where(SandboxClaim.jti == jti))


def open_booking_page(
    token: str | None,
    code: str,
    context: LinkContext,
    *,
    now: datetime,
    accepted: Collection[str],
) -> verify.Verdict:
    """Check the claim token and, when valid, record its jti so no other visit can reuse it.

    `accepted` holds the jtis this browser session was already let in with: reloading the
    page works there, while the same link opened anywhere else is a replay.
    """
    public_key, secret = _embed_credentials()
    with write_transaction():

        def seen(jti: str) -> bool:
            claim = claim_by_jti(jti)
            return claim is not None and not (jti in accepted and claim.code == code)

        verdict = verify.verify_claim_token(
            token, embed_secret=secret, embed_public_key=public_key, now=now, seen_jti=seen
        )
        if verdict.ok and claim_by_jti(verdict.jti) is None:
            db.session.add(
                SandboxClaim(
                    jti=verdict.jti,
                    code=code,
                    correlation_id=context.correlation_id,
                    utm=dict(context.utm),
                    accepted_at=now,
                    expires_at=datetime.fromtimestamp(verdict.expires_at, UTC),
                )
            )
            try:
                db.session.flush()
            except IntegrityError:
                # Another visit with the same token won a race the transaction could not see.
                return verify.Verdict(verify.REPLAYED, "This claim token was already used.")
    return verdict


def claim_for_form(jti: str, code: str, accepted: Collection[str]) -> SandboxClaim:
    """The accepted claim a booking form belongs to, if this session was let in with it."""
    claim = claim_by_jti(jti) if jti in accepted else None
    if claim is None or claim.code != code:
        raise ClaimNotAccepted(
            "This booking form does not belong to this browser session. "
            "Open the tracked link again to get a fresh booking page."
        )
    return claim


def booking_summary(code: str, correlation_id: str | None, name: str) -> str:
    """'<Public Link name> with <name>', the Public Link found by correlation ID or URL."""
    suffix = f"/sandbox/pls/{code}"
    link_name = None
    if correlation_id:
        tracked = db.session.scalar(
            db.select(TrackedLink).where(TrackedLink.correlation_id == correlation_id)
        )
        if tracked is not None and tracked.public_link.url.split("?")[0].endswith(suffix):
            link_name = tracked.public_link.name
    if link_name is None:
        link_name = db.session.scalar(
            db.select(PublicLink.name)
            .where(PublicLink.url.endswith(suffix, autoescape=True))
            .order_by(PublicLink.active.desc(), PublicLink.id)
            .limit(1)
        )
    return f"{link_name or 'Sandbox booking'} with {name}"


def confirm_booking(
    jti: str,
    code: str,
    slot_key: str,
    answers: Answers,
    *,
    now: datetime,
    accepted: Collection[str],
) -> SandboxBooking:
    """Book the slot for the claim and queue time_chosen. Submitting twice books once."""
    with write_transaction():
        claim = claim_for_form(jti, code, accepted)
        booking = book_once(claim, slot_key, answers, now, claimed=True)
    outbox.wake()
    return booking


def book_once(
    claim: SandboxClaim, slot_key: str, answers: Answers, now: datetime, *, claimed: bool
) -> SandboxBooking:
    """The claim's booking: the existing one, or a new one for the slot (time_chosen queued
    unless `claimed` is false). Runs inside the caller's write transaction."""
    db.session.refresh(claim, with_for_update=True)
    if claim.booking_id is not None:
        existing = db.session.get(SandboxBooking, claim.booking_id)
        if existing is not None:
            return existing
    slot = find_slot(slot_key, now)
    if slot is None:
        raise SlotUnavailable("That time is no longer available; please pick another.")
    booking = SandboxBooking(
        scheduling_request_id="srq_sandbox_" + secrets.token_hex(12),
        confirmation_token=secrets.token_urlsafe(24),
        code=claim.code,
        summary=booking_summary(claim.code, claim.correlation_id, answers.name),
        correlation_id=claim.correlation_id,
        utm=dict(claim.utm or {}),
        slot_start=slot.start,
        slot_end=slot.end,
        **asdict(answers),  # name, email, phone_number, notes: the booking's own columns
        status=SANDBOX_TIME_CHOSEN,
        claimed=claimed,
        created_at=now,
    )
    db.session.add(booking)
    db.session.flush()
    claim.booking_id = booking.id
    dispatch.queue_notification(booking, notifications.TIME_CHOSEN, now)
    return booking


def get_booking(confirmation_token: str) -> SandboxBooking | None:
    return db.session.scalar(
        db.select(SandboxBooking).where(SandboxBooking.confirmation_token == confirmation_token)
    )


def _open_booking_for_update(confirmation_token: str) -> SandboxBooking:
    booking = get_booking(confirmation_token)
    if booking is None:
        raise LookupError(confirmation_token)
    db.session.refresh(booking, with_for_update=True)
    if booking.status == SANDBOX_DECLINED:
        raise BookingClosed("This booking was declined; open the tracked link to book again.")
    return booking


def reschedule(confirmation_token: str, slot_key: str, *, now: datetime) -> SandboxBooking:
    """Move the booking to another offered slot and queue the rescheduled notification."""
    with write_transaction():
        booking = _open_booking_for_update(confirmation_token)
        slot = find_slot(slot_key, now)
        if slot is None:
            raise SlotUnavailable("That time is no longer available; please pick another.")
        if slot.start == booking.slot_start:
            raise SlotUnavailable("That is already the time of your booking; pick another.")
        booking.slot_start, booking.slot_end = slot.start, slot.end
        booking.status = SANDBOX_RESCHEDULED
        dispatch.queue_notification(booking, notifications.RESCHEDULED, now)
    outbox.wake()
    return booking


def decline(confirmation_token: str, *, now: datetime) -> SandboxBooking:
    """Decline the booking (once) and queue the declined notification."""
    with write_transaction():
        booking = _open_booking_for_update(confirmation_token)
        booking.status = SANDBOX_DECLINED
        dispatch.queue_notification(booking, notifications.DECLINED, now, slot_selection="pending")
    outbox.wake()
    return booking


def booking_for_dashboard(scheduling_request_id: str) -> SandboxBooking | None:
    return db.session.scalar(
        db.select(SandboxBooking).where(
            SandboxBooking.scheduling_request_id == scheduling_request_id
        )
    )


def notifications_of(booking_id: int) -> list[OutboxMessage]:
    """The booking's notifications, oldest first, with how their delivery went."""
    return list(
        db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.kind == outbox.KIND, OutboxMessage.target_id == booking_id)
            .order_by(OutboxMessage.id)
        )
    )
