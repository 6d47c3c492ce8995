"""The search terms a Scheduling Request is found by, and keeping them in step with it.

Whenever the receiver changes a request's recipients, summary or correlation ID it stores
the request's lower-cased terms (SchedulingRequestTerm) here: each word of the invitees'
names and of the summary, each email in full and as local part and domain, the correlation
ID in full and in pieces. The dashboard's search (webapp/live/search.py) then matches a
query word against the start of these terms through an index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from webapp.database import insert_plain
from webapp.models.bookings import SchedulingRequestTerm

MAX_TERM_LENGTH = 200  # the column's size; query words are cut the same way
MAX_TERMS = 200  # per request: a payload with thousands of recipients stays cheap
SEARCH_FIELDS = ("recipients", "summary", "correlation_id")

_PIECES = re.compile(r"[^\W_]+")  # runs of letters and digits, in any script
_EDGES = re.compile(r"^[\W_]+|[\W_]+$")
TERMS = SchedulingRequestTerm.__table__


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
    as search_terms and refresh_search_terms take them."""
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
            select(TERMS.c.term).where(TERMS.c.scheduling_request_pk == scheduling_request_pk)
        ).scalars()
    )
    if stale := present - wanted:
        executor.execute(
            delete(TERMS).where(
                TERMS.c.scheduling_request_pk == scheduling_request_pk,
                TERMS.c.term.in_(sorted(stale)),
            )
        )
    if new := wanted - present:
        executor.execute(
            insert(TERMS),
            [
                {"scheduling_request_pk": scheduling_request_pk, "term": term}
                for term in sorted(new)
            ],
        )


def insert_new_terms(connection: Connection, terms: Sequence[tuple[int, str]]) -> None:
    """Store (request pk, term) pairs of requests that have no terms yet, in one statement."""
    insert_plain(connection, TERMS, ("scheduling_request_pk", "term"), terms)
