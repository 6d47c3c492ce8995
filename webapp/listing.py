"""Lists on pages: keyset windows with previous and next, a page-size choice, a capped count.

Every list page (requests, tracked links, Public Links, users, the event log) pages the same
way. A window starts after a cursor (next) or ends before one (previous): both are keyset
seeks over the list's sort key, so a page costs the same however deep it is. The position
("51–100") travels in the URL rather than being counted, and the total is a COUNT over at
most COUNT_CAP + 1 rows, so no page's cost grows with the table ("of 10,000+" beyond it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import url_for
from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from webapp.extensions import db
from webapp.pagination import InvalidCursor, decode_cursor, encode_cursor
from webapp.security import MAX_DATABASE_ID

T = TypeVar("T")
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
COUNT_CAP = 10_000
MAX_START = 10**9


@dataclass(frozen=True)
class PageRequest:
    """Which window the URL asks for: after a cursor, before one, or the first."""

    after: str | None = None
    before: str | None = None
    start: int = 1  # position of the window's first row, as the link that led here said
    size: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> PageRequest:
        """Read cursor / before / start / per_page; nonsense falls back to the defaults."""
        after = (args.get("cursor") or "").strip() or None
        before = None if after else ((args.get("before") or "").strip() or None)
        start = _positive(args.get("start"), 1) if (after or before) else 1
        size = _positive(args.get("per_page"), DEFAULT_PAGE_SIZE)
        return cls(
            after, before, min(start, MAX_START), size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
        )

    @property
    def is_first(self) -> bool:
        return not (self.after or self.before)

    def size_args(self) -> dict[str, str]:
        """per_page for links, when it is not the default."""
        return {} if self.size == DEFAULT_PAGE_SIZE else {"per_page": str(self.size)}


def _positive(text: str | None, default: int) -> int:
    if text is None or not (text.isascii() and text.isdigit()) or len(text) > 10:
        return default
    return int(text) or default


@dataclass(frozen=True)
class Keyset(Generic[T]):
    """A list's sort key: its columns in list order, and how a row becomes a cursor."""

    columns: Sequence[ColumnElement[Any]]
    descending: bool
    encode: Callable[[T], str]
    decode: Callable[[str], Sequence[Any]]  # raises pagination.InvalidCursor

    def beyond(self, key: Sequence[Any], *, forward: bool) -> ColumnElement[bool]:
        """Rows strictly after (forward) or before the key, in list order."""
        smaller = self.descending == forward
        clause: ColumnElement[bool] | None = None
        for column, value in reversed(list(zip(self.columns, key, strict=True))):
            step = column < value if smaller else column > value
            clause = step if clause is None else or_(step, and_(column == value, clause))
        assert clause is not None
        return clause

    def ordered(self, statement: Select[Any], *, forward: bool) -> Select[Any]:
        down = self.descending == forward
        order = [column.desc() if down else column.asc() for column in self.columns]
        return statement.order_by(None).order_by(*order)


def is_database_id(value: Any) -> bool:
    """A whole number an INTEGER key can hold on every database (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DATABASE_ID


def one_column_keyset(
    column: ColumnElement[Any],
    value_of: Callable[[T], Any],
    *,
    descending: bool,
    valid: Callable[[Any], bool] = is_database_id,
) -> Keyset[T]:
    """The keyset of a list sorted by one unique column (an id, an email): a cursor holds
    that column's value, and one that is not `valid` is refused as InvalidCursor."""

    def decode(cursor: str) -> tuple[Any]:
        (value,) = decode_cursor(cursor, 1)
        if not valid(value):
            raise InvalidCursor("cursor is not valid")
        return (value,)

    return Keyset(
        columns=(column,),
        descending=descending,
        encode=lambda row: encode_cursor(value_of(row)),
        decode=decode,
    )


@dataclass(frozen=True)
class Window(Generic[T]):
    items: list[T]
    start: int
    next_cursor: str | None
    prev_cursor: str | None


def fetch_window(
    statement: Select[Any],
    keyset: Keyset[T],
    request: PageRequest,
    fetch: Callable[[Select[Any]], list[T]],
) -> Window[T]:
    """The window the request asks for. InvalidCursor for a cursor this app did not make.

    Going back to the start (fewer rows before the cursor than a page) shows the first
    page itself, so page one always looks the same however one got there.
    """
    size = request.size
    if request.before:
        key = keyset.decode(request.before)
        seek = keyset.ordered(statement.where(keyset.beyond(key, forward=False)), forward=False)
        rows = fetch(seek.limit(size + 1))
        if len(rows) > size:
            items = list(reversed(rows[:size]))
            start = max(request.start, 2)
            return Window(items, start, keyset.encode(items[-1]), keyset.encode(items[0]))
        return fetch_window(statement, keyset, PageRequest(size=size), fetch)
    seek = keyset.ordered(statement, forward=True)
    if request.after:
        seek = seek.where(keyset.beyond(keyset.decode(request.after), forward=True))
    rows = fetch(seek.limit(size + 1))
    items = rows[:size]
    next_cursor = keyset.encode(items[-1]) if len(rows) > size else None
    prev_cursor = keyset.encode(items[0]) if request.after and items else None
    return Window(items, request.start if request.after else 1, next_cursor, prev_cursor)


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool  # more than COUNT_CAP rows: the value is the cap


def capped_count(statement: Select[Any], cap: int = COUNT_CAP) -> Count:
    """How many rows the statement gives, counting no further than cap + 1 of them."""
    inner = statement.order_by(None).limit(cap + 1).subquery()
    value = int(db.session.execute(select(func.count()).select_from(inner)).scalar_one())
    return Count(min(value, cap), value > cap)


@dataclass(frozen=True)
class Pager:
    """What the pagination bar shows: "51–100 of 1,234", previous/next, rows per page."""

    first: int
    last: int
    total: Count | None
    prev_url: str | None
    next_url: str | None
    size: int
    sizes: tuple[int, ...]
    form_action: str
    form_args: dict[str, str]  # the list's filters, kept when the page size changes
    noun: str

    @property
    def total_text(self) -> str:
        if self.total is None:
            return ""
        return f"{self.total.value:,}{'+' if self.total.capped else ''}"

    @property
    def shows_everything(self) -> bool:
        return self.prev_url is None and self.next_url is None


def make_pager(
    window: Window[Any],
    request: PageRequest,
    endpoint: str,
    args: Mapping[str, str],
    total: Count | None,
    noun: str = "rows",
    path_args: Mapping[str, Any] | None = None,
) -> Pager:
    """The pager for a window of `endpoint`, whose filters are `args`; `path_args` are the
    values its URL rule needs (a list inside one thing's page: its id)."""
    path = dict(path_args or {})
    count = len(window.items)
    first = window.start if count else 0
    if total is not None and not total.capped and count and first + count - 1 > total.value:
        first = max(1, total.value - count + 1)  # rows were removed since the link was made
    size_args = request.size_args()
    prev_url = None
    if window.prev_cursor:
        back = first - request.size
        if back <= 1:
            prev_url = url_for(endpoint, **path, **args, **size_args)
        else:
            prev_url = url_for(
                endpoint, **path, **args, **size_args, before=window.prev_cursor, start=str(back)
            )
    next_url = None
    if window.next_cursor:
        next_url = url_for(
            endpoint,
            **path,
            **args,
            **size_args,
            cursor=window.next_cursor,
            start=str(first + count),
        )
    return Pager(
        first=first,
        last=first + count - 1 if count else 0,
        total=total,
        prev_url=prev_url,
        next_url=next_url,
        size=request.size,
        sizes=PAGE_SIZES,
        form_action=url_for(endpoint, **path),
        form_args=dict(args),
        noun=noun,
    )
