"""The dashboard's free-text search: word prefixes over an indexed table of terms.

When a Scheduling Request is applied, `refresh_search_terms` stores its lower-cased terms
(SchedulingRequestTerm): each word of the invitees' names and of the summary, each email
in full and as local part and domain, the correlation ID in full and in pieces. A query
is split into words, and a request matches when every word is the start of one of its
terms ("emmet", "eb@example", "globex", "foob"). Each word is a range over an index of
terms on SQLite and PostgreSQL alike (see text_search for the two query shapes), so a
page of results costs about the same however large the table; a `LIKE '%word%'` scan
does not. Matching inside a word ("mmet") is the price, and the search box says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, exists, func, insert, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from webapp.extensions import db
from webapp.models import SchedulingRequest
from webapp.models.bookings import SchedulingRequestTerm

MAX_TERM_LENGTH = 200  # the column's size; query words are cut the same way
MAX_TERMS = 200  # per request: a payload with thousands of recipients stays cheap
# Below this many matching terms a word drives the query from the term index (cost: what
# it finds); above it, walking the newest-first index fills a page sooner.
RARE_TERMS = 1000
RARITY_CHECKS = 3
SEARCH_FIELDS = ("recipients", "summary", "correlation_id")

_PIECES = re.compile(r"[^\W_]+")  # runs of letters and digits, in any script
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)
_TERMS = SchedulingRequestTerm.__table__


def _word_terms(text: str) -> Iterable[str]:
    """Each whitespace-separated word as typed, without edge punctuation, and its
    letter-and-digit pieces: "(globex)," gives "(globex),", "globex"; "o'brien" gives
    "o'brien", "o", "brien"."""
    for word in text.lower().split():
        yield word
        yield _EDGES.sub("", word)
        yield from _PIECES.findall(word)


def _email_terms(email: str) -> Iterable[str]:
    address = email.strip().lower()
    yield address
    local, at, domain = address.rpartition("@")
    if at:
        yield from (local, domain, "@" + domain)
    yield from _word_terms(address)


def search_fields(request: object) -> dict[str, Any]:
    """The searchable fields of a SchedulingRequest (or any object with those attributes),
    as refresh_search_terms takes them."""
    return {name: getattr(request, name, None) for name in SEARCH_FIELDS}


def search_terms(fields: Mapping[str, Any]) -> list[str]:
    """The distinct terms of a request's searchable fields, most identifying first, at
    most MAX_TERMS of at most MAX_TERM_LENGTH characters.

    `fields` holds "recipients" (list of {"display_name", "email"}), "summary" and
    "correlation_id"; missing or non-text values are skipped.
    """
    found: list[str] = []
    correlation_id = fields.get("correlation_id")
    if isinstance(correlation_id, str):
        found.append(correlation_id.lower())
        found.extend(_word_terms(correlation_id))
    for recipient in fields.get("recipients") or []:
        if not isinstance(recipient, Mapping):
            continue
        if isinstance(email := recipient.get("email"), str):
            found.extend(_email_terms(email))
        if isinstance(name := recipient.get("display_name"), str):
            found.extend(_word_terms(name))
    if isinstance(summary := fields.get("summary"), str):
        found.extend(_word_terms(summary))
    terms = dict.fromkeys(term[:MAX_TERM_LENGTH] for term in found if term.strip())
    return list(terms)[:MAX_TERMS]


def refresh_search_terms(
    executor: Session | Connection, scheduling_request_pk: int, fields: Mapping[str, Any]
) -> None:
    """Make the request's stored terms exactly `search_terms(fields)`.

    Call it inside the write transaction that changes the request's recipients, summary
    or correlation ID (the row must exist: the terms reference it). Only the difference is
    written, so a notification that changes none of them costs one indexed read.
    """
    wanted = set(search_terms(fields))
    present = set(
        executor.execute(
            select(_TERMS.c.term).where(_TERMS.c.scheduling_request_pk == scheduling_request_pk)
        ).scalars()
    )
    if stale := present - wanted:
        executor.execute(
            delete(_TERMS).where(
                _TERMS.c.scheduling_request_pk == scheduling_request_pk,
                _TERMS.c.term.in_(sorted(stale)),
            )
        )
    if new := wanted - present:
        executor.execute(
            insert(_TERMS),
            [
                {"scheduling_request_pk": scheduling_request_pk, "term": term}
                for term in sorted(new)
            ],
        )


def query_words(text: str) -> list[str]:
    """The distinct lower-cased words of a query that each need a match.

    A word that starts another word of the query is dropped: whatever term matches
    "emmet" also matches "em", so "em emmet" asks exactly what "emmet" asks.
    """
    words = list(dict.fromkeys(word[:MAX_TERM_LENGTH] for word in text.lower().split()))
    return [word for word in words if not any(o != word and o.startswith(word) for o in words)]


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix`, in code point
    order (SQLite's BINARY and PostgreSQL's "C" on UTF-8); None when there is none.

    "abc" -> "abd": `prefix <= term < bound` is then exactly "term starts with prefix".
    """
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code <= _LAST_CODE_POINT:
            if code in _SURROGATES:  # not characters: UTF-8 cannot hold them
                code = _SURROGATES.stop
            return "".join(chars) + chr(code)
    return None


def _starts_with(column: ColumnElement[str], prefix: str) -> list[ColumnElement[bool]]:
    """`column` starts with `prefix`, as a range an index can seek (LIKE 'p%' is not one on
    SQLite by default, and on PostgreSQL only with a pattern-ops index)."""
    in_range = [column >= prefix]
    if (bound := prefix_upper_bound(prefix)) is not None:
        in_range.append(column < bound)
    return in_range


@dataclass(frozen=True)
class TextSearch:
    """The SQL for a query's words: one condition per word ("the request has a term that
    starts with it"); `from_terms` when the query should start from the term index (so no
    other index may compete for the plan)."""

    clauses: list[ColumnElement[bool]]
    from_terms: bool


def text_search(text: str, *, few_rows: bool = False) -> TextSearch:
    """Conditions for the words of `text`, shaped for the cheapest plan.

    A rare word (fewer than RARE_TERMS terms start with it, checked longest word first) is
    an IN over the term index, where the database starts: the search costs what it finds.
    Every other word is an EXISTS probe of a candidate's own terms (primary key index).
    When no word is rare, every word is a probe and the database walks the newest-first
    index until a page is full, which with that many matches is soon. `few_rows` (the
    caller names a handful of ids, as the live stream does): probes only. Every shape
    selects exactly the same rows.
    """
    words = sorted(query_words(text), key=len, reverse=True)
    driver = None if few_rows else _rare_word(words)
    clauses: list[ColumnElement[bool]] = []
    for word in words:
        in_range = _starts_with(_TERMS.c.term, word)
        if word == driver:
            rows = select(_TERMS.c.scheduling_request_pk).where(*in_range)
            clauses.append(SchedulingRequest.id.in_(rows))
        else:
            owned = _TERMS.c.scheduling_request_pk == SchedulingRequest.id
            clauses.append(exists().where(owned, *in_range))
    return TextSearch(clauses, from_terms=driver is not None)


def _rare_word(words: list[str]) -> str | None:
    """The first of the first RARITY_CHECKS words that starts fewer than RARE_TERMS terms
    (an index range read of at most RARE_TERMS entries each)."""
    for word in words[:RARITY_CHECKS]:
        sample = select(literal(1)).where(*_starts_with(_TERMS.c.term, word)).limit(RARE_TERMS)
        found = db.session.execute(select(func.count()).select_from(sample.subquery()))
        if found.scalar_one() < RARE_TERMS:
            return word
    return None


class not_a_plan(ColumnElement[Any]):  # noqa: N801 (used like a SQL function)
    """A column that SQLite must not pick an index for (its documented unary "+").

    When a rare search word or a list of ids is the cheap place to start, an index that
    also serves the order, like (status, updated_at, id), tempts SQLite, which keeps no
    statistics, to walk every request of that status instead. PostgreSQL plans by its
    statistics and gets the column unchanged.
    """

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(not_a_plan)
def _plain(element: not_a_plan, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(not_a_plan, "sqlite")
def _unary_plus(element: not_a_plan, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.column, **kw))
