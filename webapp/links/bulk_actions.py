"""Actions on a selection of tracked links: disable, set the expiry, extend it.

One use case, one transaction: every link the person may change is changed, each with its
own audit entry (the same entries as changing it alone), and the others are counted and
left alone: someone else's link (staff change only their own), or one that no longer
exists. The pages confirm a disable before they call this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.audit.subjects import tracked_link_fields
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.links.inputs import MAX_ID
from webapp.links.service import audit_tracked_link_change, may_change
from webapp.models import TrackedLink, User

MAX_SELECTED = 500
MAX_EXTEND_DAYS = 3650
DISABLE, SET_EXPIRY, EXTEND_EXPIRY = "disable", "set_expiry", "extend_expiry"
ACTIONS = (DISABLE, SET_EXPIRY, EXTEND_EXPIRY)


class BulkInvalid(ValueError):
    """The action cannot run; `message` says why, in the person's words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class BulkOutcome:
    changed: list[int] = field(default_factory=list)
    unchanged: int = 0  # already so (disabled already, same expiry)
    not_allowed: int = 0
    missing: int = 0


def clean_ids(raw: Iterable[str]) -> list[int]:
    """The selected ids: whole numbers a key can hold, each once, at most MAX_SELECTED."""
    ids: list[int] = []
    for raw_id in raw:
        text = raw_id.strip()
        valid = text.isascii() and text.isdigit() and len(text) <= 10
        if valid and 0 < int(text) <= MAX_ID and int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise BulkInvalid("Select at least one tracked link.")
    if len(ids) > MAX_SELECTED:
        raise BulkInvalid(f"Select at most {MAX_SELECTED} tracked links at a time.")
    return ids


def selected_links(ids: list[int]) -> list[TrackedLink]:
    """The links for a confirmation page, in the order selected."""
    rows = db.session.execute(
        select(TrackedLink)
        .options(joinedload(TrackedLink.public_link))
        .where(TrackedLink.id.in_(ids))
    ).scalars()
    found = {link.id: link for link in rows}
    return [found[link_id] for link_id in ids if link_id in found]


def apply(
    user: User,
    action: str,
    ids: list[int],
    *,
    now: datetime,
    expires_at: datetime | None = None,
    days: int | None = None,
) -> BulkOutcome:
    """Run the action on the selected links the user may change."""
    if action == SET_EXPIRY and (expires_at is None or expires_at <= now):
        raise BulkInvalid("Choose an expiry in the future (to stop links now, disable them).")
    if action == EXTEND_EXPIRY and (days is None or not 1 <= days <= MAX_EXTEND_DAYS):
        raise BulkInvalid(f"Extend by a whole number of days, 1 to {MAX_EXTEND_DAYS}.")
    if action not in ACTIONS:
        raise BulkInvalid("Choose what to do with the selected links.")
    outcome = BulkOutcome()
    with write_transaction():
        links = {
            link.id: link
            for link in db.session.execute(
                select(TrackedLink).where(TrackedLink.id.in_(ids)).order_by(TrackedLink.id)
            ).scalars()
        }
        for link_id in sorted(ids):
            link = links.get(link_id)
            if link is None:
                outcome.missing += 1
            elif not may_change(user, link.created_by_id):
                outcome.not_allowed += 1
            else:
                before = tracked_link_fields(link)
                if _change(link, action, now, expires_at, days):
                    audit_tracked_link_change(user, link, before)
                    outcome.changed.append(link.id)
                else:
                    outcome.unchanged += 1
    return outcome


def _change(
    link: TrackedLink, action: str, now: datetime, expires_at: datetime | None, days: int | None
) -> bool:
    if action == DISABLE:
        if link.disabled_at is not None:
            return False
        link.disabled_at = now
        return True
    if action == SET_EXPIRY:
        if link.expires_at == expires_at:
            return False
        link.expires_at = expires_at
        return True
    # Extend: from the current expiry while it is ahead, else from now.
    base = link.expires_at if link.expires_at and link.expires_at > now else now
    link.expires_at = base + timedelta(days=days or 0)
    return True
