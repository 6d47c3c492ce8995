"""Turning a booking change into a queued, signed notification (docs/cronofy.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from webapp.models import SandboxBooking
from webapp.sandbox import notifications, outbox
from webapp.sandbox.slots import SLOT_MINUTES
from webapp.urls import external_url


class NotConfigured(Exception):
    """The sandbox lacks a credential; the message names it."""


def client_secrets() -> list[str]:
    """Every configured client secret: the sandbox signs with each, as Cronofy does."""
    configured = list(current_app.config.get("CLIENT_SECRETS") or [])
    if not configured:
        raise NotConfigured("The sandbox has no client secret to sign notifications with.")
    return configured


def receiver_url() -> str:
    """Where notifications go: SANDBOX_RECEIVER_URL (tests), else the app's own receiver.

    external_url() never reads the request's Host, so an invitee cannot aim the signed
    notification at another server.
    """
    configured = current_app.config.get("SANDBOX_RECEIVER_URL")
    if configured:
        return str(configured)
    return external_url("webhooks.receive")


def booking_urls(booking: SandboxBooking) -> notifications.BookingUrls:
    """The invitee's page and the organiser's, shaped like Cronofy's (/rts/..., /scheduler/...)."""
    return notifications.BookingUrls(
        view_url=external_url("sandbox.confirmation", token=booking.confirmation_token),
        dashboard_url=external_url(
            "sandbox.scheduler", request_id=dashboard_id(booking.scheduling_request_id)
        ),
    )


def dashboard_id(scheduling_request_id: str) -> str:
    """Cronofy's dashboard path carries the request id without its "srq_" prefix."""
    return scheduling_request_id.removeprefix("srq_")


def booking_facts(
    booking: SandboxBooking, *, with_times: bool = True
) -> notifications.BookingFacts:
    return notifications.BookingFacts(
        scheduling_request_id=booking.scheduling_request_id,
        summary=booking.summary,
        name=booking.name,
        email=booking.email,
        start=booking.slot_start if with_times else None,
        end=booking.slot_end if with_times else None,
        duration_minutes=SLOT_MINUTES,
        correlation_id=booking.correlation_id,
        utm=booking.utm or {},
        captured_data=booking.captured_data,
    )


def queue_notification(
    booking: SandboxBooking, notification_type: str, now: datetime, slot_selection: str = "complete"
) -> bool:
    """Add the signed notification for the booking's current state to the open transaction.

    A booking made without a claim token gets none (Cronofy sends none for those); the
    answer says whether one was queued. The caller commits, then wakes the outbox's sender.
    """
    if not booking.claimed:
        return False
    # Each notification of a booking is strictly later than the one before (whole seconds,
    # as Cronofy writes them), so the receiver can order them whatever order they arrive in.
    triggered_at = now.replace(microsecond=0)
    if booking.last_triggered_at is not None and triggered_at <= booking.last_triggered_at:
        triggered_at = booking.last_triggered_at + timedelta(seconds=1)
    booking.last_triggered_at = triggered_at
    payload = notifications.build_payload(
        notification_type,
        booking_facts(booking, with_times=slot_selection == "complete"),
        booking_urls(booking),
        triggered_at,
        slot_selection=slot_selection,
    )
    body = notifications.encode(payload)
    outbox.enqueue(
        booking_id=booking.id,
        notification_type=notification_type,
        url=receiver_url(),
        body=body,
        signature=notifications.signature(body, client_secrets()),
    )
    return True
