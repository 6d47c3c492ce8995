"""Fixtures in the flaskr style: app, client, runner, auth, plus users and links.

Every test gets a fresh database: a new SQLite file by default; with TEST_DATABASE_URL
set (CI's PostgreSQL run) the tables are created once and emptied after each test.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from tests.support import factories, sandbox
from tests.support.config import TEST_DATABASE_URL, make_test_config
from tests.support.signin import sign_in
from tests.support.smtp import Mailbox, smtp_server
from webapp import create_app
from webapp.extensions import db

# The schema always comes from the migrations, so every run tests them too: SQLite tests copy
# a template file upgraded once per run; PostgreSQL is upgraded once and emptied after each test.
_template_dir = Path(tempfile.mkdtemp(prefix="webapp-test-template-"))
atexit.register(shutil.rmtree, _template_dir, ignore_errors=True)
_state = {"template": None, "pg_ready": False}


def _sqlite_template() -> Path:
    if _state["template"] is None:
        app = create_app(make_test_config(_template_dir))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        _state["template"] = _template_dir / "test.sqlite3"
    return _state["template"]


def prepare_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if TEST_DATABASE_URL and uri == TEST_DATABASE_URL:
        if not _state["pg_ready"]:
            with app.app_context():
                with db.engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
                upgrade()
                db.engine.dispose()
            _state["pg_ready"] = True
        return
    if uri.startswith("sqlite:///"):
        target = Path(uri.removeprefix("sqlite:///"))
        if not target.exists():
            shutil.copyfile(_sqlite_template(), target)


def empty_postgres() -> None:
    """Remove every row the test (or a server it started) left in the shared database."""
    if not (TEST_DATABASE_URL and _state["pg_ready"]):
        return
    engine = create_engine(TEST_DATABASE_URL)
    try:
        names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _empty_shared_database() -> Iterator[None]:
    yield
    empty_postgres()


@pytest.fixture
def app_factory(tmp_path) -> Iterator:
    """Build an app with extra config (e.g. CSRF on, sandbox on); the database is shared."""
    made: list[Flask] = []

    def build(**overrides) -> Flask:
        app = create_app(make_test_config(tmp_path, **overrides))
        prepare_database(app)
        made.append(app)
        return app

    yield build
    for made_app in made:
        with made_app.app_context():
            db.session.remove()
            for engine in db.engines.values():  # the AUTOCOMMIT engine too
                engine.dispose()


@pytest.fixture
def app(app_factory) -> Flask:
    return app_factory()


@pytest.fixture
def sandbox_app(app_factory) -> Flask:
    """The app with the sandbox on; its notifications go nowhere (the receiver is not called)."""
    return app_factory(WEBAPP_SANDBOX=True, SANDBOX_RECEIVER_URL=sandbox.RECEIVER)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port, keeping what it receives."""
    with smtp_server() as box:
        yield box


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, email: str = "admin@example.com", password: str = factories.PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def admin(app: Flask):
    with app.app_context():
        return factories.make_user(email="admin@example.com", role="admin", name="Ada Admin")


@pytest.fixture
def staff(app: Flask):
    with app.app_context():
        return factories.make_user(email="staff@example.com", role="staff", name="Sam Staff")


@pytest.fixture
def admin_client(client: FlaskClient, admin) -> FlaskClient:
    return sign_in(client, admin.email)


@pytest.fixture
def staff_client(client: FlaskClient, staff) -> FlaskClient:
    return sign_in(client, staff.email)


@pytest.fixture
def public_link(app: Flask, staff) -> int:
    """The id of a Public Link owned by the staff member."""
    with app.app_context():
        return factories.make_public_link(owner_id=staff.id).id


# -- Secrets never leak (issue 5, the security suite) ---------------------------------------
# Every test runs under a LeakGuard (tests/support/leakguard.py): the test client, CLI runner,
# httpx and the logging system report what they saw, and at teardown no secret of an app or
# server the test used (Embed Secret, client secrets, SECRET_KEY) may appear in any of it.
from tests.support import leakguard  # noqa: E402


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "secrets_expected: the test shows a secret on purpose (the leak guard's own tests)",
    )


@pytest.fixture(autouse=True)
def _secrets_never_leak(request) -> Iterator[leakguard.LeakGuard]:
    guard = leakguard.LeakGuard()
    with leakguard.watching(guard):
        yield guard
    if request.node.get_closest_marker("secrets_expected") is None:
        found = guard.leaks()
        if found:
            pytest.fail("secret values leaked:\n" + "\n".join(found[:20]), pytrace=False)
