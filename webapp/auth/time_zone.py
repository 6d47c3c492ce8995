"""A person's time zone: every time on the pages they read is shown in it."""

from __future__ import annotations

from webapp.auth.service import ValidationError, get_user
from webapp.database import write_transaction
from webapp.models import User
from webapp.timezones import current_name, is_zone


def set_time_zone(user_id: int, name: str | None) -> User:
    """Show this person's times in the IANA zone `name` ("Asia/Kolkata", "UTC");
    ValidationError when it is not a zone this install knows."""
    clean = (name or "").strip()
    if not clean:
        raise ValidationError({"time_zone": "Choose a time zone."})
    if not is_zone(clean):
        raise ValidationError(
            {"time_zone": f"“{clean[:64]}” is not a time zone. Choose one from the list."}
        )
    with write_transaction():
        user = get_user(user_id)
        user.time_zone = current_name(clean)
    return get_user(user_id)
