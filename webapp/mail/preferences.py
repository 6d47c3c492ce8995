"""Each user's email choices: booking emails (on by default) and a daily digest (off)."""

from __future__ import annotations

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import User


def set_preferences(user_id: int, *, on_booking: bool, daily_digest: bool) -> User:
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None:
            raise LookupError(user_id)
        user.email_on_booking = on_booking
        user.email_daily_digest = daily_digest
    return user
