"""The redirect's one database read: a tracked link by slug, with its Public Link.

The statement is SQLAlchemy Core, built once at import and compiled once per engine. It
runs on a DBAPI connection with the column types' own result processors applied: the same
SQL, parameters and Python values as `connection.execute(LOOKUP, ...)`, without the
per-call machinery around it (a Connection object, the BEGIN that webapp.database emits for
every SQLAlchemy transaction, execution events, a result object), which on the hottest
path cost four times the query.

Which connection: each process keeps up to LOOKUP_CONNECTIONS connections for this query
alone, reused last-in first-out, in autocommit (so no read transaction or WAL snapshot
outlives the query). Two reasons, both measured:
- SQLite drops a connection's whole page cache whenever another connection commits; the
  visit flushes commit several times a second, and the pool hands out its connections in
  turn, so nearly every lookup ran cold (about 50 us instead of 5). One hot connection
  per process is cold once per commit at most.
- The pool's checkout, ping and reset cost more than the query itself.
They are made by the engine (so the app's connect-time settings apply), detached from its
pool, closed when the engine is disposed, and never used across a fork. When all are busy,
or one fails, the lookup takes a connection from the pool as usual.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, event, select
from sqlalchemy.engine import Engine

from webapp.models import PublicLink, TrackedLink


class LinkRow(NamedTuple):
    id: int
    correlation_id: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    expires_at: datetime | None
    disabled_at: datetime | None
    allow_repeat_bookings: bool
    booking_view_url: str | None
    url: str
    active: bool


# An indexed match on the unique slug, joined to its Public Link; only the columns the
# decision needs, in LinkRow's order.
LOOKUP = (
    select(
        TrackedLink.id,
        TrackedLink.correlation_id,
        TrackedLink.utm_source,
        TrackedLink.utm_medium,
        TrackedLink.utm_campaign,
        TrackedLink.utm_term,
        TrackedLink.utm_content,
        TrackedLink.expires_at,
        TrackedLink.disabled_at,
        TrackedLink.allow_repeat_bookings,
        TrackedLink.booking_view_url,
        PublicLink.url,
        PublicLink.active,
    )
    .join(PublicLink, PublicLink.id == TrackedLink.public_link_id)
    .where(TrackedLink.slug == bindparam("slug"))
)
assert list(LOOKUP.selected_columns.keys()) == list(LinkRow._fields)

Processor = Callable[[Any], Any]
# Dedicated lookup connections per process and engine (see the module docstring).
LOOKUP_CONNECTIONS = 2


class _Compiled(NamedTuple):
    sql: str
    positional: bool
    processors: tuple[tuple[int, Processor], ...]  # (column index, result processor)


def _compile(engine: Engine) -> _Compiled:
    dialect = engine.dialect
    compiled = LOOKUP.compile(dialect=dialect)
    if compiled.positional and list(compiled.positiontup or ()) != ["slug"]:
        raise RuntimeError("the tracked-link lookup must have exactly one parameter")
    processors = []
    for index, column in enumerate(LOOKUP.selected_columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            processors.append((index, processor))
    return _Compiled(str(compiled), bool(compiled.positional), tuple(processors))


class _Connections:
    """This process's lookup connections for one engine: a last-in first-out free list."""

    def __init__(self) -> None:
        self.idle: list[Any] = []  # list.pop/append are atomic: no lock to take one
        self.made = 0
        self.generation = 0  # bumped by dispose: older connections are closed on return
        self.lock = threading.Lock()  # guards `made` only

    def take(self, engine: Engine) -> tuple[Any, int] | None:
        """An idle connection, a new one while under the cap, or None (use the pool)."""
        try:
            return self.idle.pop()
        except IndexError:
            pass
        if self.made >= LOOKUP_CONNECTIONS:
            return None
        with self.lock:
            if self.made >= LOOKUP_CONNECTIONS:
                return None
            self.made += 1
        try:
            pooled = engine.raw_connection()  # the app's connect-time settings apply
            pooled.detach()
            connection = pooled.dbapi_connection
            connection.rollback()  # end anything checkout began, then switch to autocommit
            engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        except BaseException:
            with self.lock:
                self.made -= 1
            raise
        return connection, self.generation

    def give_back(self, entry: tuple[Any, int]) -> None:
        if entry[1] == self.generation:
            self.idle.append(entry)
        else:
            self.discard(entry)

    def discard(self, entry: tuple[Any, int]) -> None:
        with self.lock:
            self.made -= 1
        with contextlib.suppress(Exception):  # a broken connection may refuse even that
            entry[0].close()

    def close_all(self) -> None:
        """engine.dispose(): close the idle ones; those in use close when given back."""
        self.generation += 1
        while self.idle:
            self.discard(self.idle.pop())


class _PerEngine(NamedTuple):
    compiled: _Compiled
    connections: _Connections


_engines: WeakKeyDictionary[Engine, _PerEngine] = WeakKeyDictionary()
_engines_lock = threading.Lock()
# Connections inherited through fork() are kept but never used nor closed: SQLite forbids
# carrying a connection across fork(), and closing it in the child is a use.
_inherited: list[Any] = []


def _for(engine: Engine) -> _PerEngine:
    try:
        return _engines[engine]
    except KeyError:
        pass
    with _engines_lock:
        if engine not in _engines:
            connections = _Connections()  # no reference to the engine: it is a weak key
            event.listen(engine, "engine_disposed", lambda _: connections.close_all())
            _engines[engine] = _PerEngine(_compile(engine), connections)
        return _engines[engine]


def find_link(engine: Engine, slug: str) -> LinkRow | None:
    """The tracked link with this slug and its Public Link's URL and state, or None."""
    compiled, connections = _for(engine)
    parameters = (slug,) if compiled.positional else {"slug": slug}
    entry = connections.take(engine)
    if entry is None:
        values = _from_pool(engine, compiled.sql, parameters)
    else:
        try:
            values = _run(entry[0], compiled.sql, parameters)
        except engine.dialect.loaded_dbapi.Error:
            # e.g. the database server restarted: drop this one, use the (pinging) pool.
            connections.discard(entry)
            values = _from_pool(engine, compiled.sql, parameters)
        except BaseException:
            connections.discard(entry)
            raise
        else:
            connections.give_back(entry)
    if values is None:
        return None
    row = list(values)
    for index, processor in compiled.processors:
        if row[index] is not None:
            row[index] = processor(row[index])
    return LinkRow._make(row)


def _run(connection: Any, sql: str, parameters: Any) -> Any:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, parameters)
        return cursor.fetchone()
    finally:
        cursor.close()


def _from_pool(engine: Engine, sql: str, parameters: Any) -> Any:
    connection = engine.raw_connection()
    try:
        return _run(connection, sql, parameters)
    finally:
        connection.close()  # back to the pool (which rolls back any implicit transaction)


def _after_fork_in_child() -> None:
    for _, connections in list(_engines.values()):
        _inherited.extend(entry[0] for entry in connections.idle)
        connections.idle.clear()
        connections.made = 0
        connections.generation += 1  # any in use at fork time are the parent's
        connections.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
