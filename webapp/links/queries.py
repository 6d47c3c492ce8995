"""Read-side queries for the link pages, the CSV export and the API.

Lists use keyset pagination (never OFFSET): a page costs the same however deep it is.
Per-row figures (clicks, booking state) are computed for one page's ids in one grouped
query each, never per row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.links.inputs import MAX_ID
from webapp.models import LinkBatch, PublicLink, SchedulingRequest, TrackedLink, Visit
from webapp.models.retention import purged_visits
from webapp.outcomes import state_condition
from webapp.pagination import InvalidCursor, decode_cursor, encode_cursor

OWNER_MINE = "mine"
OWNER_ALL = "all"
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class LinkFilters:
    """What the tracked-links list shows: free text, one Public Link, mine or all."""

    q: str = ""
    public_link_id: int | None = None
    owner: str = OWNER_ALL
    user_id: int | None = None  # whose links "mine" means
    correlation_id: str | None = None  # exact match (the API's filter)
    batch_id: int | None = None  # the links one bulk upload created
    # Follow-up (webapp/outcomes.py): clicked_not_booked, not_clicked or booked; with
    # `clicked_before`, only links whose last person click is older than it.
    state: str | None = None
    clicked_before: datetime | None = None


class BookingState(NamedTuple):
    """A tracked link's latest Scheduling Request: one row of `booking_states`."""

    scheduling_request_id: str
    status: str


def filtered(filters: LinkFilters) -> Select[tuple[TrackedLink]]:
    """The tracked links the filters match, with their Public Link and creator loaded."""
    return matching(select(TrackedLink), filters).options(
        joinedload(TrackedLink.public_link), joinedload(TrackedLink.created_by)
    )


def matching(query: Select[Any], filters: LinkFilters) -> Select[Any]:
    """The query narrowed to what the filters match (for the list, its count, the API)."""
    if filters.q.strip():
        pattern = "%" + _escape_like(filters.q.strip()) + "%"
        query = query.where(
            or_(
                TrackedLink.correlation_id.ilike(pattern, escape="\\"),
                TrackedLink.label.ilike(pattern, escape="\\"),
            )
        )
    if filters.public_link_id is not None:
        query = query.where(TrackedLink.public_link_id == filters.public_link_id)
    if filters.owner == OWNER_MINE:
        query = query.where(TrackedLink.created_by_id == filters.user_id)
    if filters.correlation_id is not None:
        query = query.where(TrackedLink.correlation_id == filters.correlation_id)
    if filters.batch_id is not None:
        query = query.where(TrackedLink.batch_id == filters.batch_id)
    if filters.state:
        query = query.where(state_condition(filters.state))
    if filters.clicked_before is not None:
        query = query.where(TrackedLink.last_clicked_at <= filters.clicked_before)
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def tracked_links_page(filters: LinkFilters, cursor: str | None, limit: int) -> Page[TrackedLink]:
    """Newest first; raises InvalidCursor for a cursor this app did not make."""
    query = filtered(filters)
    if cursor:
        created_text, last_id = decode_cursor(cursor, 2)
        created_at = parse_cursor_time(created_text)
        check_cursor_id(last_id)
        query = query.where(
            or_(
                TrackedLink.created_at < created_at,
                and_(TrackedLink.created_at == created_at, TrackedLink.id < last_id),
            )
        )
    query = query.order_by(TrackedLink.created_at.desc(), TrackedLink.id.desc())
    rows = list(db.session.execute(query.limit(limit + 1)).unique().scalars())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last.created_at.isoformat(), last.id)
    return Page(rows, next_cursor)


def get_batch(batch_id: int) -> LinkBatch | None:
    return db.session.get(LinkBatch, batch_id)


def batch_links(batch_id: int) -> list[TrackedLink]:
    """The links one upload created, in the file's order."""
    query = select(TrackedLink).where(TrackedLink.batch_id == batch_id).order_by(TrackedLink.id)
    return list(db.session.execute(query).scalars())


def has_tracked_links(user_id: int) -> bool:
    """True when this person created at least one tracked link."""
    query = select(TrackedLink.id).where(TrackedLink.created_by_id == user_id).limit(1)
    return db.session.execute(query).first() is not None


def tracked_links_by_id(filters: LinkFilters, cursor: str | None, limit: int) -> Page[TrackedLink]:
    """Oldest first, keyed by id (the API's stable order); raises InvalidCursor."""
    query = filtered(filters)
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        check_cursor_id(last_id)
        query = query.where(TrackedLink.id > last_id)
    rows = list(
        db.session.execute(query.order_by(TrackedLink.id).limit(limit + 1)).unique().scalars()
    )
    return _id_page(rows, limit)


def iter_tracked_links(filters: LinkFilters, batch: int = 500) -> Iterator[list[TrackedLink]]:
    """Every link the filters match, newest first, in batches (bounded memory)."""
    cursor = None
    while True:
        page = tracked_links_page(filters, cursor, batch)
        if page.items:
            yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def public_links_page(cursor: str | None, limit: int) -> Page[PublicLink]:
    """Oldest first, keyed by id; raises InvalidCursor."""
    query = select(PublicLink).options(joinedload(PublicLink.owner))
    if cursor:
        (last_id,) = decode_cursor(cursor, 1)
        check_cursor_id(last_id)
        query = query.where(PublicLink.id > last_id)
    rows = list(db.session.execute(query.order_by(PublicLink.id).limit(limit + 1)).scalars())
    return _id_page(rows, limit)


def _id_page(rows: list[Any], limit: int) -> Page[Any]:
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(rows, encode_cursor(rows[-1].id))
    return Page(rows, None)


def check_cursor_id(value: Any) -> None:
    if not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise InvalidCursor("cursor is not valid")


def parse_cursor_time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise InvalidCursor("cursor is not valid")
    try:
        value = datetime.fromisoformat(text)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor("cursor is not valid") from exc


def click_counts(link_ids: Sequence[int]) -> dict[int, int]:
    """Human visits per tracked link, for these ids only: one grouped query over the visits,
    plus the ones retention removed (counted before they went)."""
    if not link_ids:
        return {}
    rows = db.session.execute(
        select(Visit.tracked_link_id, func.count())
        .where(Visit.tracked_link_id.in_(link_ids), Visit.agent_class == "human")
        .group_by(Visit.tracked_link_id)
    )
    counts = Counter({link_id: count for link_id, count in rows})
    counts.update(purged_visits(link_ids, humans_only=True))
    return dict(counts)


def booking_states(link_ids: Sequence[int]) -> dict[int, BookingState]:
    """The latest Scheduling Request per tracked link, for these ids, in one query."""
    if not link_ids:
        return {}
    ranked = (
        select(
            SchedulingRequest.tracked_link_id,
            SchedulingRequest.scheduling_request_id,
            SchedulingRequest.status,
            func.row_number()
            .over(
                partition_by=SchedulingRequest.tracked_link_id,
                order_by=(SchedulingRequest.updated_at.desc(), SchedulingRequest.id.desc()),
            )
            .label("rank"),
        )
        .where(SchedulingRequest.tracked_link_id.in_(link_ids))
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.tracked_link_id, ranked.c.scheduling_request_id, ranked.c.status).where(
            ranked.c.rank == 1
        )
    )
    return {link_id: BookingState(srq_id, status) for link_id, srq_id, status in rows}


def tracked_link_counts(public_link_ids: Sequence[int]) -> dict[int, int]:
    """Tracked links per Public Link, for these ids, in one grouped query."""
    if not public_link_ids:
        return {}
    rows = db.session.execute(
        select(TrackedLink.public_link_id, func.count())
        .where(TrackedLink.public_link_id.in_(public_link_ids))
        .group_by(TrackedLink.public_link_id)
    )
    return {link_id: count for link_id, count in rows}


def public_link_with_url(url: str) -> PublicLink | None:
    """The first Public Link registered with exactly this URL, if any."""
    query = select(PublicLink).where(PublicLink.url == url).order_by(PublicLink.id).limit(1)
    return db.session.execute(query).scalar_one_or_none()


def active_public_links() -> list[PublicLink]:
    """Active Public Links by name, for the create forms' select."""
    return list(
        db.session.execute(
            select(PublicLink).where(PublicLink.active.is_(True)).order_by(PublicLink.name)
        ).scalars()
    )


def all_public_links() -> list[PublicLink]:
    """Every Public Link by name, for the list's filter."""
    return list(db.session.execute(select(PublicLink).order_by(PublicLink.name)).scalars())


def recent_visits(link_id: int, limit: int = 50) -> list[Visit]:
    return list(
        db.session.execute(
            select(Visit)
            .where(Visit.tracked_link_id == link_id)
            .order_by(Visit.at.desc(), Visit.id.desc())
            .limit(limit)
        ).scalars()
    )


def visit_count(link_id: int) -> int:
    """Every visit of the link, the ones retention removed included."""
    rows = db.session.execute(
        select(func.count()).select_from(Visit).where(Visit.tracked_link_id == link_id)
    ).scalar_one()
    return rows + purged_visits([link_id], humans_only=False).get(link_id, 0)
