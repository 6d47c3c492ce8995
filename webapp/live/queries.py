"""Which Scheduling Requests a view shows: filters -> SQL conditions, and keyset pages.

The dashboard, its live stream, the CSV export and the JSON API all filter through
`conditions()`, so a row that the page shows is exactly a row the stream says `matches`.
Pages are keyset pages over (updated_at, id), newest first: never OFFSET, so a page costs
the same however deep it is and rows that move while someone pages are neither lost nor
repeated. The free text is a word-prefix search over an index (webapp/live/search.py), and
the status choices a skip-scan of the status index: neither grows with the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.live.search import not_a_plan, text_search
from webapp.models import PublicLink, SchedulingRequest, User
from webapp.pagination import InvalidCursor, decode_cursor, encode_cursor
from webapp.samples import real_requests
from webapp.security import MAX_DATABASE_ID

PAGE_SIZE = 50
OWNER_CHOICES = ("all", "mine")
SORT_NEWEST, SORT_UPCOMING = "", "upcoming"
SORT_CHOICES = (SORT_NEWEST, SORT_UPCOMING)
MATCH_CHOICES = ("", "matched", "unmatched")
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class RequestFilters:
    """Resolved filters; None means "any". Each word of `text` must start one of the
    request's search terms (webapp/live/search.py)."""

    status: str | None = None
    public_link_id: int | None = None
    owner_id: int | None = None
    text: str = ""
    correlation_id: str | None = None
    updated_since: datetime | None = None
    matched: bool | None = None  # tied to a tracked link (True), not tied (False), either
    # Test notifications (webapp/samples.py): the API lists them; the pages hide them
    # unless asked, and exports and figures never count them.
    include_tests: bool = True


@dataclass(frozen=True)
class PageFilters:
    """The dashboard's filters as they appear in its URL (GET form)."""

    status: str = ""
    public_link: str = ""
    owner: str = "all"
    q: str = ""
    match: str = ""  # "", "matched" or "unmatched"
    sort: str = SORT_NEWEST  # newest activity first, or upcoming meetings first
    tests: bool = False  # show test notifications too
    ignored: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> PageFilters:
        """Read the URL's filters; values that make no sense are dropped and reported."""
        ignored: dict[str, str] = {}
        public_link = (args.get("public_link") or "").strip()
        if public_link and not _is_database_id(public_link):
            ignored["public_link"] = public_link[:200]
            public_link = ""
        owner = (args.get("owner") or "all").strip()
        if owner not in OWNER_CHOICES:
            ignored["owner"] = owner
            owner = "all"
        choices = {"match": MATCH_CHOICES, "sort": SORT_CHOICES}
        chosen = {name: _without_nul(args.get(name)).strip() for name in choices}
        for name, allowed in choices.items():
            if chosen[name] not in allowed:
                ignored[name] = chosen[name][:200]
                chosen[name] = ""
        return cls(
            status=_without_nul(args.get("status")).strip()[:200],
            public_link=public_link,
            owner=owner,
            q=" ".join(_without_nul(args.get("q")).split())[:MAX_QUERY_LENGTH],
            match=chosen["match"],
            sort=chosen["sort"],
            tests=args.get("tests") in ("1", "show", "on"),
            ignored=ignored,
        )

    @property
    def active(self) -> bool:
        """Whether the rows are narrowed (the order and test notifications aside)."""
        return bool(self.status or self.public_link or self.owner != "all" or self.q or self.match)

    def query_args(self) -> dict[str, str]:
        """The non-default filters, for url_for() (pager, stream, export links)."""
        args = {
            "status": self.status,
            "public_link": self.public_link,
            "q": self.q,
            "match": self.match,
            "sort": self.sort,
            "tests": "1" if self.tests else "",
        }
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
            matched={"matched": True, "unmatched": False}.get(self.match),
            include_tests=self.tests,
        )


def _is_database_id(text: str) -> bool:
    """ASCII digits ("²".isdigit() is true too) naming an id a database key can hold."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return False
    return 0 < int(text) <= MAX_DATABASE_ID


def _without_nul(text: str | None) -> str:
    # No stored value contains NUL, and PostgreSQL refuses it in a query.
    return (text or "").replace("\x00", "")


def conditions(filters: RequestFilters, *, few_rows: bool = False) -> list[ColumnElement[bool]]:
    """The WHERE clauses that express the filters over SchedulingRequest.

    `few_rows`: the caller already restricts to a handful of ids (the stream's re-check).
    That, or a rare search word, is where the query should start; the other filters then
    must not offer SQLite an index to start from instead (search.not_a_plan). The rows let
    through are the same either way.
    """
    search = text_search(filters.text, few_rows=few_rows)
    planned = not_a_plan if few_rows or search.from_terms else _as_is
    clauses: list[ColumnElement[bool]] = []
    if filters.status:
        clauses.append(planned(SchedulingRequest.status) == filters.status)
    if filters.public_link_id is not None:
        clauses.append(planned(SchedulingRequest.public_link_id) == filters.public_link_id)
    if filters.owner_id is not None:
        clauses.append(planned(SchedulingRequest.owner_id) == filters.owner_id)
    if filters.correlation_id is not None:
        clauses.append(planned(SchedulingRequest.correlation_id) == filters.correlation_id)
    if filters.updated_since is not None:
        clauses.append(planned(SchedulingRequest.updated_at) >= filters.updated_since)
    if filters.matched is not None:
        link = planned(SchedulingRequest.tracked_link_id)
        clauses.append(link.is_not(None) if filters.matched else link.is_(None))
    if not filters.include_tests:
        clauses.append(real_requests())
    clauses.extend(search.clauses)
    return clauses


def _as_is(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return column


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
        SchedulingRequest.id.in_(ids), *conditions(filters, few_rows=True)
    )
    return set(db.session.execute(statement).scalars())


def encode_page_cursor(row: SchedulingRequest) -> str:
    return encode_cursor(row.updated_at.isoformat(), row.id)


def decode_page_cursor(cursor: str) -> tuple[datetime, int]:
    """(updated_at, id) of the last row of the previous page; InvalidCursor if forged."""
    stamp, row_id = decode_cursor(cursor, 2)
    if not isinstance(stamp, str) or not isinstance(row_id, int):
        raise InvalidCursor("cursor is not valid")
    if not 0 <= row_id <= MAX_DATABASE_ID:  # out of the key's range: the database would fail
        raise InvalidCursor("cursor is not valid")
    try:
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None:
            raise InvalidCursor("cursor is not valid")
        updated_at = updated_at.astimezone(UTC)  # OverflowError at the ends of the calendar
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor("cursor is not valid") from exc
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


MAX_STATUS_CHOICES = 500


def _present_statuses() -> Select[Any]:
    """The distinct statuses by a walk of the (status, updated_at, id) index: one seek per
    status (a "loose index scan", as a recursive CTE on SQLite and PostgreSQL alike)
    where SELECT DISTINCT reads every row."""
    status = SchedulingRequest.status
    present = select(func.min(status).label("status")).cte("present", recursive=True)
    following = select(func.min(status)).where(status > present.c.status).scalar_subquery()
    present = present.union_all(select(following).where(present.c.status.is_not(None)))
    return select(present.c.status).where(present.c.status.is_not(None)).limit(MAX_STATUS_CHOICES)


PRESENT_STATUSES = _present_statuses()


def status_choices(selected: str = "") -> list[str]:
    """The statuses present in the table (plus the selected one), for the filter select.

    Costs one index seek per distinct status, however many requests there are.
    """
    present = set(db.session.execute(PRESENT_STATUSES).scalars())
    if selected:
        present.add(selected)
    return sorted(present)


def public_link_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(select(PublicLink.id, PublicLink.name).order_by(PublicLink.name))
    return [(row.id, row.name) for row in rows]
