"""Database engine set-up and the write-transaction helper every service uses.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from webapp.extensions import db
from webapp.private_files import create_private_file

_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("immediate", default=False)
# The Flask-SQLAlchemy bind key of the AUTOCOMMIT engine.
AUTOCOMMIT = "autocommit"


def add_autocommit_bind(app: Flask) -> None:
    """Before db.init_app(): the AUTOCOMMIT engine, with the main engine's options."""
    config = app.config
    url = config["SQLALCHEMY_DATABASE_URI"]
    options = {**config["SQLALCHEMY_ENGINE_OPTIONS"], "url": url, "isolation_level": "AUTOCOMMIT"}
    if url.startswith("sqlite"):
        # A file has no server that could have dropped a pooled connection, so no liveness
        # ping before every checkout: on the redirect it was one more statement per click.
        options["pool_pre_ping"] = False
    config["SQLALCHEMY_BINDS"] = {AUTOCOMMIT: options, **(config.get("SQLALCHEMY_BINDS") or {})}


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
    if db.session().in_transaction():  # scoped_session does not proxy in_transaction
        db.session.commit()
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
