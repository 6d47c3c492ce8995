"""The redirect's one database read: a tracked link by slug, with its Public Link.

One SELECT, written in SQLAlchemy Core, on the AUTOCOMMIT engine
(webapp.database.autocommit_engine): no BEGIN and ROLLBACK around it, and no ORM session,
which cost the redirect 25-35% of its throughput. It runs through the driver
(webapp.database.PlainSelect) rather than `Connection.execute`, whose per-call work was
the biggest part of the redirect's own (benchmarks/README.md says what each buys).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select

from webapp.database import PlainSelect, autocommit_engine
from webapp.models import PublicLink, TrackedLink


class LinkRow(NamedTuple):
    id: int
    correlation_id: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    expires_at: datetime | None
    disabled_at: datetime | None
    allow_repeat_bookings: bool
    booking_view_url: str | None
    url: str
    active: bool


# An indexed match on the unique slug, joined to its Public Link; only the columns the
# decision needs, in LinkRow's order.
LOOKUP = (
    select(
        TrackedLink.id,
        TrackedLink.correlation_id,
        TrackedLink.utm_source,
        TrackedLink.utm_medium,
        TrackedLink.utm_campaign,
        TrackedLink.utm_term,
        TrackedLink.utm_content,
        TrackedLink.expires_at,
        TrackedLink.disabled_at,
        TrackedLink.allow_repeat_bookings,
        TrackedLink.booking_view_url,
        PublicLink.url,
        PublicLink.active,
    )
    .join(PublicLink, PublicLink.id == TrackedLink.public_link_id)
    .where(TrackedLink.slug == bindparam("slug"))
)
assert list(LOOKUP.selected_columns.keys()) == list(LinkRow._fields)
_PLAIN_LOOKUP = PlainSelect(LOOKUP)


def find_link(slug: str) -> LinkRow | None:
    """The tracked link with this slug and its Public Link's URL and state, or None."""
    row = _PLAIN_LOOKUP.one_or_none(autocommit_engine(), {"slug": slug})
    return None if row is None else LinkRow._make(row)
