"""Fixtures for the reliability tests: the scale, and a server database prepared the suite's
way (SQLite: a migrated file; PostgreSQL: the shared test database, emptied after each test)
with a reader app on it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from flask import Flask

from tests.reliability.workload import Scale
from tests.support.server import server_env


@dataclass
class ServerDatabase:
    env: dict[str, str]  # the server's environment, DATABASE_URL included
    reader: Flask  # a second app on the server's database, to read what it stored
    run: str  # unique per test, in every id the test sends


@pytest.fixture
def scale() -> Scale:
    return Scale.from_env()


@pytest.fixture
def server_database(tmp_path, app_factory) -> ServerDatabase:
    env = server_env(tmp_path)
    # Builds the schema from the migrations before the server starts (its own `db upgrade`
    # is then a no-op), and on PostgreSQL registers the database for emptying afterwards.
    reader = app_factory(SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"])
    return ServerDatabase(env=env, reader=reader, run=secrets.token_hex(3))
