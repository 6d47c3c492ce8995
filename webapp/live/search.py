"""The dashboard's free-text search: word prefixes over an indexed table of terms.

The receiver keeps each Scheduling Request's lower-cased terms (webapp/models/
search_terms.py: the invitees' names and emails, the summary, the correlation ID); this
module is the query side. A query is split into words, and a request matches when every
word is the start of one of its terms ("emmet", "eb@example", "globex", "foob"). Each word
is a range over an index of terms on SQLite and PostgreSQL alike (see text_search for the
two query shapes), so a page of results costs about the same however large the table; a
`LIKE '%word%'` scan does not. Matching inside a word ("mmet") is the price, and the
search box says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from webapp.extensions import db
from webapp.models import SchedulingRequest
from webapp.models.bookings import SchedulingRequestTerm
from webapp.models.search_terms import MAX_TERM_LENGTH

# Below this many matching terms a word drives the query from the term index (cost: what
# it finds); above it, walking the newest-first index fills a page sooner.
RARE_TERMS = 1000
RARITY_CHECKS = 3
_LAST_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)
_TERMS = SchedulingRequestTerm.__table__


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
