"""Windows of the tracked-link and Public Link lists (keyset previous/next) and their counts.

The sort keys match queries.tracked_links_page and queries.public_links_page, so a cursor
from either reads the same. The counts stop at listing.COUNT_CAP.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.links.queries import (
    LinkFilters,
    check_cursor_id,
    filtered,
    matching,
    parse_cursor_time,
)
from webapp.listing import (
    Count,
    Keyset,
    PageRequest,
    Window,
    capped_count,
    fetch_window,
    one_column_keyset,
)
from webapp.models import PublicLink, TrackedLink
from webapp.pagination import decode_cursor, encode_cursor


def _created_key(cursor: str) -> tuple[datetime, int]:
    created_text, last_id = decode_cursor(cursor, 2)
    check_cursor_id(last_id)
    return parse_cursor_time(created_text), last_id


TRACKED_KEYSET: Keyset[TrackedLink] = Keyset(
    columns=(TrackedLink.created_at, TrackedLink.id),
    descending=True,
    encode=lambda link: encode_cursor(link.created_at.isoformat(), link.id),
    decode=_created_key,
)


def tracked_links_window(filters: LinkFilters, wanted: PageRequest) -> Window[TrackedLink]:
    """A window of the list, newest first; raises InvalidCursor."""
    return fetch_window(
        filtered(filters),
        TRACKED_KEYSET,
        wanted,
        lambda statement: list(db.session.execute(statement).unique().scalars()),
    )


def count_tracked_links(filters: LinkFilters) -> Count:
    return capped_count(matching(select(TrackedLink.id), filters))


def count_recent_clicks(filters: LinkFilters) -> Count | None:
    """For a follow-up list that leaves out recent clicks: how many it leaves out."""
    if filters.clicked_before is None:
        return None
    recent = replace(filters, clicked_before=None)
    query = matching(select(TrackedLink.id), recent)
    return capped_count(query.where(TrackedLink.last_clicked_at > filters.clicked_before))


PUBLIC_KEYSET = one_column_keyset(PublicLink.id, lambda link: link.id, descending=False)


def public_links_window(wanted: PageRequest) -> Window[PublicLink]:
    """A window of Public Links, oldest first; raises InvalidCursor."""
    return fetch_window(
        select(PublicLink).options(joinedload(PublicLink.owner)),
        PUBLIC_KEYSET,
        wanted,
        lambda statement: list(db.session.execute(statement).scalars()),
    )


def count_public_links() -> Count:
    return capped_count(select(PublicLink.id))
