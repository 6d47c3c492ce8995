"""Password hashing cost and rules (docs/architecture.md, "Notes learnt the hard way")."""

from __future__ import annotations

import secrets

import pytest

from tests.support import factories
from webapp import create_app
from webapp.auth import passwords
from webapp.config import DEFAULTS
from webapp.extensions import db
from webapp.models import User


def pbkdf2_iterations(method: str) -> int:
    name, digest, iterations = method.split(":")
    assert (name, digest) == ("pbkdf2", "sha256")
    return int(iterations)


def test_default_method_meets_owasp():
    assert pbkdf2_iterations(DEFAULTS["PASSWORD_HASH_METHOD"]) >= 600_000


def test_create_app_defaults_hash_and_verify(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": secrets.token_hex(16),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'defaults.sqlite3'}",
        }
    )
    method = app.config["PASSWORD_HASH_METHOD"]
    assert pbkdf2_iterations(method) >= 600_000
    with app.app_context():
        hashed = passwords.hash_password("a production password")
        assert hashed.startswith(method + "$")
        assert passwords.verify_password(hashed, "a production password")
        assert not passwords.verify_password(hashed, "another password!")
        db.engine.dispose()


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("x" * 11, False),
        ("x" * 12, True),
        ("x" * 1024, True),
        ("x" * 1025, False),
        (" " * 12, False),
        ("correct horse battery staple", True),
    ],
)
def test_password_rules(password, ok):
    assert (passwords.password_problem(password) is None) is ok


def test_unknown_account_still_pays_for_a_hash(app, monkeypatch):
    calls = []
    monkeypatch.setattr(passwords, "check_password_hash", lambda *args: calls.append(1))
    with app.app_context():
        assert passwords.verify_password(None, "anything at all") is False
    assert calls == [1]


def test_over_long_password_is_refused_without_hashing(app, monkeypatch):
    monkeypatch.setattr(passwords, "check_password_hash", lambda *args: pytest.fail("hashed"))
    with app.app_context():
        assert passwords.verify_password("pbkdf2:sha256:1000$x$y", "x" * 1025) is False


def test_sign_in_upgrades_an_old_hash(app_factory):
    app = app_factory(PASSWORD_HASH_METHOD="pbkdf2:sha256:2000")
    with app.app_context():
        ref = factories.make_user(email="old@example.com")  # hashed with 1000 iterations
        assert db.session.get(User, ref.id).password_hash.startswith("pbkdf2:sha256:1000$")
    response = app.test_client().post(
        "/login", data={"email": "old@example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    with app.app_context():
        upgraded = db.session.get(User, ref.id).password_hash
    assert upgraded.startswith("pbkdf2:sha256:2000$")
    response = app.test_client().post(
        "/login", data={"email": "old@example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
