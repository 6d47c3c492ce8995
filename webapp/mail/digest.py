"""The daily digest: once a day, to each user who chose it, what happened to the
Scheduling Requests of the links they own since their last digest.

The outbox worker runs `queue_due_digests` about once a minute (a registered tick); a
conditional UPDATE of users.digest_sent_at claims each user's digest, so several workers
never queue the same one twice. A day without news sends nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update

from webapp.absolute import local_time, public_url, user_zone
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.mail.bookings import invitee_of
from webapp.mail.compose import enabled, queue_email
from webapp.models import SchedulingRequest, User

PERIOD = timedelta(days=1)
MAX_ITEMS = 50


def due_users(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            db.select(User.id).where(
                User.active.is_(True),
                User.email_daily_digest.is_(True),
                or_(User.digest_sent_at.is_(None), User.digest_sent_at <= now - PERIOD),
            )
        )
    )


def queue_due_digests(now: datetime) -> int:
    """Queue every digest that is due at `now`; how many were queued."""
    if not enabled():
        return 0
    queued = 0
    user_ids = due_users(now)
    db.session.commit()
    for user_id in user_ids:
        with write_transaction():
            queued += _queue_digest(user_id, now)
    return queued


def _queue_digest(user_id: int, now: datetime) -> int:
    user = db.session.get(User, user_id)
    if user is None:
        return 0
    since = user.digest_sent_at or now - PERIOD
    claimed = db.session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.digest_sent_at.is_(None), User.digest_sent_at <= now - PERIOD),
        )
        .values(digest_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return 0  # another worker queued it
    requests = list(
        db.session.scalars(
            db.select(SchedulingRequest)
            .where(
                SchedulingRequest.owner_id == user_id,
                SchedulingRequest.updated_at > since,
                SchedulingRequest.updated_at <= now,
            )
            .order_by(SchedulingRequest.updated_at.desc())
            .limit(MAX_ITEMS + 1)
        )
    )
    if not requests:
        return 0
    zone = user_zone(user)
    items = [
        {
            "status": request.status,
            "invitee": " ".join(part for part in invitee_of(request) if part) or "Someone",
            "correlation_id": request.correlation_id,
            "summary": request.summary,
            "meeting_time": local_time(request.event_start, zone),
            "url": public_url(
                "live.request_detail", scheduling_request_id=request.scheduling_request_id
            ),
        }
        for request in requests[:MAX_ITEMS]
    ]
    count = len(requests)
    subject = f"Your daily digest: {count}{'+' if count > MAX_ITEMS else ''} update(s)"
    return queue_email(
        user.email,
        subject,
        "digest",
        now,
        topic="digest",
        user_id=user.id,
        user=user,
        items=items,
        more=count > MAX_ITEMS,
        dashboard_url=public_url("live.index"),
        preferences_url=public_url("mail.preferences"),
    )
