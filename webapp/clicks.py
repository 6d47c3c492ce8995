"""Per-link click counters, kept in the transaction that stores the visits.

Insights and the follow-up lists ask "was this link clicked by a person, and when first and
last?" for thousands of links at once. Counting visits for that costs what the visits
table holds; reading three columns of the link costs one row per link. So the visit writer
(webapp/tracking/visits.py) calls `count_person_clicks` with each batch it inserts: one
UPDATE per link in the batch, in link-id order (concurrent batches on PostgreSQL then lock
links in one order and cannot deadlock), in the same transaction as the visits, so the
counters and the visits never disagree. Only people count: bots, link previews and HEAD
requests are visits but not clicks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, bindparam, case, update

from webapp.models import TrackedLink, UTCDateTime

PERSON = "human"  # the agent class of a person's visit (webapp/tracking/agents.py)

LINKS = TrackedLink.__table__
# Typed: each is used in comparisons and as a value, and must be stored as the column is.
_first = bindparam("c_first", type_=UTCDateTime())
_last = bindparam("c_last", type_=UTCDateTime())
# A NULL counter time compares as unknown, so the ELSE branch sets it. Each time appears
# twice, not three times: every appearance is converted again for every row of a batch.
_COUNT = (
    update(LINKS)
    .where(LINKS.c.id == bindparam("c_id"))
    .values(
        person_clicks=LINKS.c.person_clicks + bindparam("c_count"),
        first_clicked_at=case(
            (LINKS.c.first_clicked_at <= _first, LINKS.c.first_clicked_at), else_=_first
        ),
        last_clicked_at=case(
            (LINKS.c.last_clicked_at >= _last, LINKS.c.last_clicked_at), else_=_last
        ),
    )
)


class VisitLike(Protocol):
    tracked_link_id: int
    at: datetime
    agent_class: str


def click_totals(visits: Iterable[VisitLike]) -> dict[int, tuple[int, datetime, datetime]]:
    """Person clicks per link in a batch of visits: {link id: (count, first, last)}."""
    totals: dict[int, tuple[int, datetime, datetime]] = {}
    for visit in visits:
        if visit.agent_class != PERSON:
            continue
        seen = totals.get(visit.tracked_link_id)
        if seen is None:
            totals[visit.tracked_link_id] = (1, visit.at, visit.at)
        else:
            totals[visit.tracked_link_id] = (
                seen[0] + 1,
                min(seen[1], visit.at),
                max(seen[2], visit.at),
            )
    return totals


def count_person_clicks(connection: Connection, visits: Iterable[VisitLike]) -> int:
    """Add a batch's person clicks to its links' counters (inside the caller's
    transaction); returns how many links changed."""
    totals = click_totals(visits)
    if not totals:
        return 0
    connection.execute(
        _COUNT,
        [
            {"c_id": link_id, "c_count": count, "c_first": first, "c_last": last}
            for link_id, (count, first, last) in sorted(totals.items())
        ],
    )
    return len(totals)
