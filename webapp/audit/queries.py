"""Reading the audit log: the filters shared by the page, its CSV export and the API.

Newest first, keyset-paginated on (at, id): a page costs the same however deep it is. The
API pages with `page()`; the admin page with webapp.listing's windows over KEYSET.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select

from webapp.audit.actions import ACTIONS, TARGET_TYPES, action_groups
from webapp.extensions import db
from webapp.listing import Keyset
from webapp.models import AuditEvent, User
from webapp.pagination import InvalidCursor, decode_cursor, encode_cursor

PAGE_SIZE = 50
EXPORT_BATCH = 500
SYSTEM_ACTOR = "system"  # the actor filter's word for "no user" (the system, or anonymous)
QUERY_MAX_LENGTH = 200
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class AuditFilters:
    actor: str | None = None  # an email (lower-cased) or SYSTEM_ACTOR
    action: str | None = None  # an action, or "<group>.*" for every action of a kind
    target_type: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    q: str | None = None  # part of the target's name, any case


@dataclass(frozen=True)
class ParsedFilters:
    filters: AuditFilters
    errors: dict[str, str] = field(default_factory=dict)  # parameter -> what is wrong
    args: dict[str, str] = field(default_factory=dict)  # the valid ones, for links


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEvent]
    next_cursor: str | None


def parse_filters(args: Mapping[str, str]) -> ParsedFilters:
    """The filters from query parameters (`actor`, `action`, `target_type`, `from`, `to`, `q`).

    `from`/`to` take a date (whole UTC days, `to` included) or an ISO-8601 time with a
    timezone. Invalid values are left out and named in `errors`.
    """
    errors: dict[str, str] = {}
    kept: dict[str, str] = {}
    values: dict[str, object] = {}

    actor = _text(args, "actor", errors)
    if actor:
        values["actor"] = actor.lower()
    action = _text(args, "action", errors)
    if action:
        groups = {f"{group}.*" for group in action_groups()}
        if action in ACTIONS or action in groups:
            values["action"] = action
        else:
            errors["action"] = "an action name such as user.created, or a group such as user.*"
    target_type = _text(args, "target_type", errors)
    if target_type:
        if target_type in TARGET_TYPES:
            values["target_type"] = target_type
        else:
            errors["target_type"] = "one of " + ", ".join(TARGET_TYPES)
    q = _text(args, "q", errors)
    if q:
        values["q"] = q
    for name, key, end_of_day in (("from", "since", False), ("to", "until", True)):
        raw = _text(args, name, errors)
        if raw:
            try:
                values[key] = parse_bound(raw, end_of_day=end_of_day)
            except ValueError as error:
                errors[name] = str(error)
    for name in ("actor", "action", "target_type", "q", "from", "to"):
        if name in args and name not in errors and args[name].strip():
            kept[name] = args[name].strip()
    return ParsedFilters(AuditFilters(**values), errors, kept)  # type: ignore[arg-type]


def _text(args: Mapping[str, str], name: str, errors: dict[str, str]) -> str | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if len(raw) > QUERY_MAX_LENGTH or any(ord(char) < 0x20 for char in raw):
        errors[name] = f"at most {QUERY_MAX_LENGTH} characters, no control characters"
        return None
    return raw


def parse_bound(raw: str, *, end_of_day: bool) -> datetime:
    """A date (a whole UTC day; its end when `end_of_day`) or an aware ISO-8601 time, in UTC."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day and day < date.max else start
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as error:
        raise ValueError("a date (2025-01-19) or an ISO-8601 time with a timezone") from error
    if moment.tzinfo is None:
        raise ValueError("the time needs a timezone, e.g. a trailing Z for UTC")
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("a time between the years 1 and 9999 in UTC") from error


def filtered(filters: AuditFilters) -> Select[tuple[AuditEvent]]:
    """The entries the filters select, newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.actor == SYSTEM_ACTOR:
        query = query.where(AuditEvent.actor_id.is_(None))
    elif filters.actor:
        user_id = db.session.execute(
            select(User.id).where(User.email == filters.actor)
        ).scalar_one_or_none()
        # An email that is no account's matches nothing (actor_id -1 exists nowhere).
        query = query.where(AuditEvent.actor_id == (user_id if user_id is not None else -1))
    if filters.action and filters.action.endswith(".*"):
        prefix = filters.action[:-1]
        query = query.where(AuditEvent.action.startswith(prefix, autoescape=True))
    elif filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.since:
        query = query.where(AuditEvent.at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.at < filters.until)
    if filters.q:
        needle = filters.q.lower()
        query = query.where(func.lower(AuditEvent.target_name).contains(needle, autoescape=True))
    return query


def page(filters: AuditFilters, cursor: str | None, limit: int | None = None) -> AuditPage:
    """One page of entries (PAGE_SIZE unless `limit`); InvalidCursor for a cursor this app
    did not make."""
    limit = limit or PAGE_SIZE
    query = filtered(filters)
    if cursor:
        at, entry_id = decode(cursor)
        query = query.where(after(at, entry_id))
    rows = list(db.session.execute(query.limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, encode(rows[-1]) if more and rows else None)


def iterate(filters: AuditFilters, batch: int | None = None) -> Iterator[AuditEvent]:
    """Every selected entry, newest first, a keyset batch at a time (for the export)."""
    batch = batch or EXPORT_BATCH
    query = filtered(filters)
    last: AuditEvent | None = None
    while True:
        step = query if last is None else query.where(after(last.at, last.id))
        rows = list(db.session.execute(step.limit(batch)).scalars())
        yield from rows
        for row in rows:  # a long export keeps one batch in memory, not all of it
            db.session.expunge(row)
        if len(rows) < batch:
            return
        last = rows[-1]


def after(at: datetime, entry_id: int):  # type: ignore[no-untyped-def]
    """Rows that come after (at, id) in newest-first order."""
    return or_(AuditEvent.at < at, and_(AuditEvent.at == at, AuditEvent.id < entry_id))


def encode(entry: AuditEvent) -> str:
    return encode_cursor(entry.at.astimezone(UTC).isoformat(), entry.id)


def decode(cursor: str) -> tuple[datetime, int]:
    """The (at, id) a cursor from `encode` holds; InvalidCursor for any other text."""
    at_text, entry_id = decode_cursor(cursor, 2)
    if not isinstance(at_text, str) or not isinstance(entry_id, int):
        raise InvalidCursor("cursor is not valid")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError as error:
        raise InvalidCursor("cursor is not valid") from error
    if at.tzinfo is None or not 0 <= entry_id <= MAX_ID:
        raise InvalidCursor("cursor is not valid")
    try:
        return at.astimezone(UTC), entry_id
    except OverflowError as error:  # e.g. 0001-01-01T00:00:00+23:59
        raise InvalidCursor("cursor is not valid") from error


# The page's list order and cursors, for webapp.listing's previous/next windows.
KEYSET: Keyset[AuditEvent] = Keyset(
    columns=(AuditEvent.at, AuditEvent.id),
    descending=True,
    encode=encode,
    decode=decode,
)
