"""The owner's email when a link they own is booked, rescheduled or declined."""

from __future__ import annotations

from datetime import datetime

from webapp.absolute import local_time, public_url, user_zone
from webapp.extensions import db
from webapp.mail.compose import enabled, queue_email
from webapp.models import SchedulingRequest, TrackedLink, User

SUBJECTS = {
    "scheduling_request.time_chosen": "Booked",
    "scheduling_request.rescheduled": "Rescheduled",
    "scheduling_request.declined": "Declined",
}


def invitee_of(request: SchedulingRequest) -> tuple[str, str]:
    """(name, email) of the first recipient, either may be empty."""
    for recipient in request.recipients or []:
        if isinstance(recipient, dict):
            return (
                str(recipient.get("display_name") or "").strip(),
                str(recipient.get("email") or "").strip(),
            )
    return "", ""


def queue_booking_email(event: str, request: SchedulingRequest, *, now: datetime) -> int:
    """Queue the owner's email for a booking event (inside the caller's transaction);
    0 when email is off, the request has no owner, or the owner chose not to be told."""
    if not enabled() or event not in SUBJECTS or request.owner_id is None:
        return 0
    owner = db.session.get(User, request.owner_id)
    if owner is None or not owner.active or not owner.email_on_booking:
        return 0
    link = db.session.get(TrackedLink, request.tracked_link_id) if request.tracked_link_id else None
    name, email = invitee_of(request)
    verb = SUBJECTS[event]
    who = name or email or "Someone"
    subject = f"{verb}: {who}" + (f" ({request.correlation_id})" if request.correlation_id else "")
    return queue_email(
        owner.email,
        subject,
        "booking",
        now,
        topic=event,
        user_id=owner.id,
        verb=verb,
        owner=owner,
        invitee_name=name,
        invitee_email=email,
        request=request,
        label=link.label if link is not None else "",
        meeting_time=local_time(request.event_start, user_zone(owner)),
        request_url=public_url(
            "live.request_detail", scheduling_request_id=request.scheduling_request_id
        ),
        preferences_url=public_url("mail.preferences"),
    )
