"""Database engine set-up, the write-transaction helpers, and two INSERT shapes both
dialects share.

SQLite under several gunicorn workers (docs/architecture.md): WAL, a busy timeout, foreign
keys and synchronous=NORMAL on every connection; write transactions open with BEGIN
IMMEDIATE, because a deferred read-then-write transaction fails at once with "database is
locked" under concurrent writers, whatever the busy timeout. Reads keep plain deferred
BEGINs so that the live streams never hold the write lock.

A second engine on the same database, in AUTOCOMMIT (`autocommit_engine()`), serves
single-statement reads that need no transaction (the tracked-link redirect's lookup): no
BEGIN and ROLLBACK around the query, no snapshot held. It is its own engine because
`execution_options(isolation_level="AUTOCOMMIT")` on a pooled connection of the main one
does not work here: SQLAlchemy still fires the "begin" event (whose hook below emits a real
BEGIN), and on SQLite it resets the connection's isolation level when the connection goes
back to the pool, undoing the connect hook's setting for the next user.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Table, bindparam, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Select

from webapp.extensions import db
from webapp.private_files import create_private_file

_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("immediate", default=False)
# The Flask-SQLAlchemy bind key of the AUTOCOMMIT engine.
AUTOCOMMIT = "autocommit"


def configure_engines(app: Flask) -> None:
    """Before db.init_app(): the engines' options, and the AUTOCOMMIT engine beside the
    main one (with the main engine's options)."""
    config = app.config
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        # A file has no server that could have dropped a pooled connection, so no liveness
        # ping before every checkout: on the redirect it was one more statement per click,
        # on the receiver one more per batch.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **config["SQLALCHEMY_ENGINE_OPTIONS"],
            "pool_pre_ping": False,
        }
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = _server_pool(
            config["SQLALCHEMY_ENGINE_OPTIONS"], config.get("WEBAPP_WORKER_THREADS")
        )
    options = {**config["SQLALCHEMY_ENGINE_OPTIONS"], "url": url, "isolation_level": "AUTOCOMMIT"}
    # In AUTOCOMMIT no transaction is ever open, so there is nothing to roll back when a
    # connection goes back to the pool (SQLAlchemy's documented setting for this case).
    options["pool_reset_on_return"] = None
    config["SQLALCHEMY_BINDS"] = {AUTOCOMMIT: options, **(config.get("SQLALCHEMY_BINDS") or {})}


# Threads of a worker besides gunicorn's that use the database: the receiver's group commit,
# the applier, the outbox and the visit buffer's flush.
BACKGROUND_THREADS = 4


def _server_pool(options: dict[str, Any], worker_threads: int | str | None) -> dict[str, Any]:
    """A database server's pool keeps a connection for every thread of the worker.

    SQLAlchemy's pool keeps 5 connections and closes any further one when it is given back;
    on PostgreSQL each new connection is a new server process whose start-up and first
    queries cost ~15 ms of server CPU. With 50 dashboards open on 4 workers, their stream
    polls went past 5 at once all the time: 40 connections a second were opened and closed,
    PostgreSQL spent most of a core starting them, and 5,000 deliveries took over 150 s
    where they take ~90 s without the churn (tests/reliability/test_live_streams.py). The
    connections are still opened only when that many threads want one at once (README,
    "PostgreSQL connections"). Options set in instance/config.py win.
    """
    if not worker_threads:
        return options
    return {"pool_size": int(worker_threads) + BACKGROUND_THREADS, **options}


def init_app(app: Flask) -> None:
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _configure_sqlite_connections(engine)
        if db.engine.dialect.name == "sqlite":
            _begin_sqlite_transactions_explicitly(db.engine)


def autocommit_engine() -> Engine:
    """The AUTOCOMMIT engine of the current app (single-statement reads only)."""
    return db.engines[AUTOCOMMIT]


def _configure_sqlite_connections(engine: Engine) -> None:
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)

        @event.listens_for(engine, "do_connect")
        def _create_owner_only(*_args):  # type: ignore[no-untyped-def]
            # Before SQLite creates the file with the umask's mode (the app, and migrations).
            with contextlib.suppress(FileNotFoundError):  # no folder: SQLite says so itself
                create_private_file(path)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _begin_sqlite_transactions_explicitly(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@contextmanager
def write_transaction() -> Iterator[None]:
    """Run the block as one write transaction: committed on success, rolled back on error.

    Any transaction the request already had open (reads) is ended first, so that the
    write transaction is the one that starts here, with SQLite's write lock taken up front.
    """
    commit_open_session()
    token = _immediate.set(True)
    try:
        db.session.connection()  # starts the transaction now, as IMMEDIATE on SQLite
    finally:
        _immediate.reset(token)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def commit_open_session() -> None:
    """End the session's open transaction, if any, so that a write transaction can start
    (on SQLite, one the session holds would keep the write lock from anyone else)."""
    if db.session().in_transaction():  # scoped_session does not proxy in_transaction
        db.session.commit()


@contextmanager
def write_connection(
    engine: Engine, turn: AbstractContextManager[object] | None = None
) -> Iterator[Connection]:
    """A Core connection in one write transaction (IMMEDIATE on SQLite), committed on
    success and rolled back on error: for background threads and hot paths that have no
    use for an ORM session. `turn` (e.g. writeturns.writers_in_turn) is entered once the
    connection is checked out and held through COMMIT, so that the checkout (and its
    liveness ping) is not done while holding it."""
    with engine.connect() as connection, turn or nullcontext():
        token = _immediate.set(True)
        try:
            transaction = connection.begin()
        finally:
            _immediate.reset(token)
        with transaction:
            yield connection


@contextmanager
def session_on(app: Flask, connection: Connection) -> Iterator[Session]:
    """`db.session`, for the block, as a plain Session joined to `connection`'s open
    transaction (SQLAlchemy's "joining a Session into an external transaction"), in an
    app context of its own: for ORM code (the outbox) inside a Core write transaction,
    without checking out a second connection, which on SQLite would wait on the write
    lock the first one holds. The session flushes but never commits: the connection's
    owner does."""
    with app.app_context():
        session = Session(bind=connection, join_transaction_mode="conditional_savepoint")
        db.session.registry.set(session)
        try:
            yield session
            session.flush()
        finally:
            session.close()  # leaves the transaction open: it is not the session's
            db.session.registry.clear()


class PlainInsert:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id, key, for a batch of rows at
    once, through the driver; on SQLite and PostgreSQL alike.

    The receiver stores every batch of deliveries this way and the applier every batch of
    new Scheduling Requests, each while holding the database's write lock, where
    SQLAlchemy's insertmanyvalues spent more time rendering the batch's SQL and converting
    its values than SQLite spent inserting them (benchmarks/README.md). So the SQL is
    compiled once per dialect and number of rows (a power of two, at most ROWS_A_STATEMENT),
    run on the connection's own DBAPI cursor, inside its transaction; and `values()`
    converts a row by each column's own bind processor, exactly as SQLAlchemy would, which
    callers can do before they take the lock. A column left out must have no Python-side
    default: the driver would not apply it (checked when the insert is made).
    """

    def __init__(self, table: Table, columns: Sequence[str], key: str) -> None:
        for column in table.columns:
            if column.name not in columns and column.default is not None:
                raise ValueError(f"{table.name}.{column.name} has a default: list it")
        self.table = table
        # In the table's order: the order in which SQLAlchemy renders a multi-row VALUES.
        self.columns = tuple(column.name for column in table.columns if column.name in columns)
        if len(self.columns) != len(set(columns)):
            raise ValueError(f"not all columns of {table.name}: {sorted(columns)}")
        self.key = key
        self._processors: dict[str, list[Any]] = {}

    def values(self, dialect: Dialect, row: dict[str, Any]) -> tuple[Any, ...]:
        """The row's values as the driver takes them, in `columns` order."""
        return tuple(
            row[name] if process is None else process(row[name])
            for name, process in zip(self.columns, self._bind_processors(dialect), strict=True)
        )

    def replaced(
        self, dialect: Dialect, values: tuple[Any, ...], name: str, value: Any
    ) -> tuple[Any, ...]:
        """`values` with one column's value replaced (converted as values() would)."""
        index = self.columns.index(name)
        process = self._bind_processors(dialect)[index]
        converted = value if process is None else process(value)
        return (*values[:index], converted, *values[index + 1 :])

    def _bind_processors(self, dialect: Dialect) -> list[Any]:
        processors = self._processors.get(dialect.name)
        if processors is None:
            processors = self._processors[dialect.name] = [
                self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in self.columns
            ]
        return processors

    def run(self, connection: Connection, rows: Sequence[tuple[Any, ...]]) -> dict[Any, int]:
        """Insert rows made by `values()`; {key: id} of those inserted (a row whose key
        exists already is skipped, and not in the answer)."""
        returned = _insert_rows(connection, self.table, self.columns, rows, self.key)
        return {key: pk for pk, key in returned}


ROWS_A_STATEMENT = 64
# (dialect, table, columns, rows, conflict key) -> the SQL and its parameter names
_statements: dict[
    tuple[str, str, tuple[str, ...], int, str | None], tuple[str, list[str] | None]
] = {}


def _insert_rows(
    connection: Connection,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    key: str | None,
) -> list[tuple[Any, ...]]:
    """Insert rows (values in `columns` order, which must be the table's) through the
    connection's DBAPI cursor, up to ROWS_A_STATEMENT rows a statement; with a `key`, skip
    rows whose key exists and return (id, key) of those inserted."""
    returned: list[tuple[Any, ...]] = []
    cursor = connection.connection.cursor()
    try:
        for start, count in _chunks(len(rows)):
            shape = (connection.dialect.name, table.name, columns, count, key)
            found = _statements.get(shape)
            if found is None:
                found = _statements[shape] = _rows_statement(
                    connection.dialect, table, columns, count, key
                )
            sql, names = found
            flat = [value for row in rows[start : start + count] for value in row]
            cursor.execute(sql, flat if names is None else dict(zip(names, flat, strict=True)))
            if key is not None:
                returned.extend(cursor.fetchall())
    finally:
        cursor.close()
    return returned


def _chunks(count: int) -> Iterator[tuple[int, int]]:
    """(start, size) of the statements for `count` rows: sizes are powers of two, at most
    ROWS_A_STATEMENT, so only a handful of statements are ever compiled."""
    start = 0
    while start < count:
        size = min(ROWS_A_STATEMENT, 1 << ((count - start).bit_length() - 1))
        yield start, size
        start += size


def _rows_statement(
    dialect: Dialect, table: Table, columns: Sequence[str], count: int, key: str | None
) -> tuple[str, list[str] | None]:
    """The SQL of an INSERT of `count` rows in one VALUES (with ON CONFLICT (key) DO NOTHING
    RETURNING id, key when a key is given), and its parameter names in the order of a flat
    row list (None: the dialect's parameters are positional, already in that order)."""
    names = [f"p{row}_{i}" for row in range(count) for i in range(len(columns))]
    rows = [
        {name: bindparam(f"p{row}_{i}") for i, name in enumerate(columns)} for row in range(count)
    ]
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(table).values(rows)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[key]).returning(
            table.c.id, table.c[key]
        )
    compiled = statement.compile(dialect=dialect)
    if not compiled.positional:
        return compiled.string, names
    order = {name: index for index, name in enumerate(names)}
    positions = [order[name] for name in compiled.positiontup]  # type: ignore[union-attr]
    if positions != list(range(len(names))):
        raise RuntimeError("the dialect reordered the parameters of an INSERT")
    return compiled.string, None


def insert_plain(
    connection: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT rows of plain values (ints and strings, no type conversion) through the driver
    itself, up to ROWS_A_STATEMENT rows a statement. It pays where rows are many and small:
    the applier inserts 17 search terms per new Scheduling Request while holding the write
    lock, SQLAlchemy's per-row parameter processing cost more than everything else it did
    with them, and an executemany gives up Python's lock (the GIL) around every row, each
    time a chance for another thread to keep it for a while (benchmarks/README.md)."""
    # A multi-row VALUES lists the columns in the table's order.
    ordered = tuple(column.name for column in table.columns if column.name in columns)
    index = [columns.index(name) for name in ordered]
    _insert_rows(connection, table, ordered, [[row[i] for i in index] for row in rows], None)


class PlainSelect:
    """A SELECT of one row through the driver itself, for the redirect's lookup.

    `Connection.execute` spends about 20 us per call building an execution context and a
    result around a statement whose SQL never changes; the redirect makes one such call
    per click. So the statement is compiled once per dialect, run on a pooled DBAPI
    connection (`Engine.raw_connection()`, SQLAlchemy's documented way to the driver), and
    each column is converted by its own type's result processor, exactly as SQLAlchemy
    would (timezone-aware datetimes included). Bind values must be plain (ints and
    strings): they are passed to the driver unconverted. What it buys is measured in
    benchmarks/README.md.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, list[Any]]] = {}

    def one_or_none(self, engine: Engine, params: dict[str, Any]) -> tuple[Any, ...] | None:
        sql, order, processors = self._compiled_for(engine.dialect)
        arguments = params if order is None else tuple(params[name] for name in order)
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, arguments)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for value, process in zip(row, processors, strict=True)
        )

    def _compiled_for(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, list[Any]]:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            statement = self.statement.compile(dialect=dialect)
            order = tuple(statement.positiontup) if statement.positional else None  # type: ignore[arg-type]
            processors = [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            ]
            compiled = self._compiled[dialect.name] = (statement.string, order, processors)
        return compiled
