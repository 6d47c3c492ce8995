"""Which Scheduling Requests a view shows: filters -> SQL conditions, and keyset pages.

The dashboard, its live stream, the CSV export and the JSON API all filter through
`conditions()`, so a row that the page shows is exactly a row the stream says `matches`.
Pages are keyset pages over (updated_at, id), newest first: never OFFSET, so a page costs
the same however deep it is and rows that move while someone pages are neither lost nor
repeated.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import PublicLink, SchedulingRequest, User
from webapp.pagination import InvalidCursor, decode_cursor, encode_cursor

PAGE_SIZE = 50
OWNER_CHOICES = ("all", "mine")
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class RequestFilters:
    """Resolved filters; None means "any". `text` is matched against search_text."""

    status: str | None = None
    public_link_id: int | None = None
    owner_id: int | None = None
    text: str = ""
    correlation_id: str | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True)
class PageFilters:
    """The dashboard's filters as they appear in its URL (GET form)."""

    status: str = ""
    public_link: str = ""
    owner: str = "all"
    q: str = ""
    ignored: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> PageFilters:
        """Read the URL's filters; values that make no sense are dropped and reported."""
        ignored: dict[str, str] = {}
        public_link = (args.get("public_link") or "").strip()
        if public_link and not public_link.isdigit():
            ignored["public_link"] = public_link
            public_link = ""
        owner = (args.get("owner") or "all").strip()
        if owner not in OWNER_CHOICES:
            ignored["owner"] = owner
            owner = "all"
        return cls(
            status=(args.get("status") or "").strip()[:200],
            public_link=public_link,
            owner=owner,
            q=" ".join((args.get("q") or "").split())[:MAX_QUERY_LENGTH],
            ignored=ignored,
        )

    @property
    def active(self) -> bool:
        return bool(self.status or self.public_link or self.owner != "all" or self.q)

    def query_args(self) -> dict[str, str]:
        """The non-default filters, for url_for() (pager, stream, export links)."""
        args = {"status": self.status, "public_link": self.public_link, "q": self.q}
        if self.owner != "all":
            args["owner"] = self.owner
        return {key: value for key, value in args.items() if value}

    def resolve(self, user_id: int) -> RequestFilters:
        """The filters for SQL; "mine" becomes the signed-in user's id."""
        return RequestFilters(
            status=self.status or None,
            public_link_id=int(self.public_link) if self.public_link else None,
            owner_id=user_id if self.owner == "mine" else None,
            text=self.q.lower(),
        )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(filters: RequestFilters) -> list[ColumnElement[bool]]:
    """The WHERE clauses that express the filters over SchedulingRequest."""
    clauses: list[ColumnElement[bool]] = []
    if filters.status:
        clauses.append(SchedulingRequest.status == filters.status)
    if filters.public_link_id is not None:
        clauses.append(SchedulingRequest.public_link_id == filters.public_link_id)
    if filters.owner_id is not None:
        clauses.append(SchedulingRequest.owner_id == filters.owner_id)
    if filters.correlation_id is not None:
        clauses.append(SchedulingRequest.correlation_id == filters.correlation_id)
    if filters.updated_since is not None:
        clauses.append(SchedulingRequest.updated_at >= filters.updated_since)
    for word in filters.text.lower().split():
        clauses.append(SchedulingRequest.search_text.like(f"%{_escape_like(word)}%", escape="\\"))
    return clauses


def newest_first(statement: Select[Any]) -> Select[Any]:
    return statement.order_by(SchedulingRequest.updated_at.desc(), SchedulingRequest.id.desc())


def request_select(filters: RequestFilters) -> Select[tuple[SchedulingRequest]]:
    """The filtered Scheduling Requests, newest activity first."""
    return newest_first(select(SchedulingRequest).where(*conditions(filters)))


def row_select(filters: RequestFilters) -> Select[Any]:
    """Like request_select, with the Public Link's name and the owner for the table."""
    return newest_first(
        select(
            SchedulingRequest,
            PublicLink.name.label("public_link_name"),
            User.name.label("owner_name"),
            User.email.label("owner_email"),
        )
        .outerjoin(PublicLink, PublicLink.id == SchedulingRequest.public_link_id)
        .outerjoin(User, User.id == SchedulingRequest.owner_id)
        .where(*conditions(filters))
    )


def matching_ids(filters: RequestFilters, ids: list[int]) -> set[int]:
    """Which of these SchedulingRequest primary keys the filters let through."""
    if not ids:
        return set()
    statement = select(SchedulingRequest.id).where(
        SchedulingRequest.id.in_(ids), *conditions(filters)
    )
    return set(db.session.execute(statement).scalars())


def encode_page_cursor(row: SchedulingRequest) -> str:
    return encode_cursor(row.updated_at.isoformat(), row.id)


def decode_page_cursor(cursor: str) -> tuple[datetime, int]:
    """(updated_at, id) of the last row of the previous page; InvalidCursor if forged."""
    stamp, row_id = decode_cursor(cursor, 2)
    if not isinstance(stamp, str) or not isinstance(row_id, int):
        raise InvalidCursor("cursor is not valid")
    try:
        updated_at = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise InvalidCursor("cursor is not valid") from exc
    if updated_at.tzinfo is None:
        raise InvalidCursor("cursor is not valid")
    return updated_at, row_id


def after(statement: Select[Any], cursor: str | None) -> Select[Any]:
    """Rows strictly after the cursor in newest-first order."""
    if not cursor:
        return statement
    updated_at, row_id = decode_page_cursor(cursor)
    return statement.where(
        or_(
            SchedulingRequest.updated_at < updated_at,
            and_(SchedulingRequest.updated_at == updated_at, SchedulingRequest.id < row_id),
        )
    )


def fetch_page(
    statement: Select[Any], cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """One page of rows after the cursor, and the cursor of the next page (None at the end).

    The statement's first column must be SchedulingRequest (request_select or row_select).
    """
    rows = list(db.session.execute(after(statement, cursor).limit(limit + 1)))
    next_cursor = encode_page_cursor(rows[limit - 1][0]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def iterate_all(statement: Select[Any], batch: int = 500) -> Iterator[Any]:
    """Every row of the statement, fetched in keyset batches (for the CSV export).

    The read transaction ends between batches (so a long export pins no snapshot and no
    connection); use each row before asking for the next batch.
    """
    cursor: str | None = None
    while True:
        rows, cursor = fetch_page(statement, cursor, batch)
        yield from rows
        if cursor is None:
            return
        db.session.rollback()


def status_choices(selected: str = "") -> list[str]:
    """The statuses present in the table (plus the selected one), for the filter select."""
    present = set(db.session.execute(select(SchedulingRequest.status).distinct()).scalars())
    if selected:
        present.add(selected)
    return sorted(present)


def public_link_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(select(PublicLink.id, PublicLink.name).order_by(PublicLink.name))
    return [(row.id, row.name) for row in rows]
