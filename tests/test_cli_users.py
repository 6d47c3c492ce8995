"""create-user, set-password and create-api-token through the CLI runner."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support import factories
from webapp.auth import api_tokens
from webapp.extensions import db
from webapp.models import User

PASSWORD = "a password from stdin"


def user(app, email):
    with app.app_context():
        row = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if row is not None:
            db.session.expunge(row)
        return row


def test_create_user_from_stdin(app, runner, client):
    result = runner.invoke(
        args=["create-user", "Cli@Example.com", "--name", "Cli User", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created staff cli@example.com" in result.output
    created = user(app, "cli@example.com")
    assert created.role == "staff" and created.name == "Cli User" and created.active
    assert created.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    response = client.post("/login", data={"email": "cli@example.com", "password": PASSWORD})
    assert response.status_code == 302


def test_create_admin(app, runner):
    result = runner.invoke(
        args=["create-user", "boss@example.com", "--admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert user(app, "boss@example.com").role == "admin"


def test_first_user_as_staff_gets_a_hint(app, runner):
    result = runner.invoke(
        args=["create-user", "first@example.com", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0
    assert "no admin exists yet" in result.output


def test_create_user_prompts_twice_with_hidden_input(app, runner):
    result = runner.invoke(args=["create-user", "prompted@example.com"], input=f"{PASSWORD}\n" * 2)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert result.output.count("Password") >= 1
    assert user(app, "prompted@example.com") is not None


def test_duplicate_email_is_refused(app, runner, staff):
    result = runner.invoke(
        args=["create-user", "STAFF@example.com", "--admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert user(app, "staff@example.com").role == "staff"


def test_short_password_is_refused(app, runner):
    result = runner.invoke(
        args=["create-user", "short@example.com", "--password-stdin"], input="too short\n"
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert user(app, "short@example.com") is None


def test_bad_email_is_refused(app, runner):
    result = runner.invoke(
        args=["create-user", "not-an-email", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code != 0
    assert "email" in result.output
    with app.app_context():
        assert db.session.execute(select(func.count(User.id))).scalar_one() == 0


def test_create_api_token_prints_a_working_token(app, runner, staff):
    result = runner.invoke(args=["create-api-token", "Staff@Example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith(api_tokens.TOKEN_PREFIX)
    with app.app_context():
        assert api_tokens.authenticate_bearer(token).id == staff.id


def test_create_api_token_for_unknown_or_deactivated_user(app, runner):
    result = runner.invoke(args=["create-api-token", "nobody@example.com"])
    assert result.exit_code != 0
    assert "no user" in result.output
    with app.app_context():
        factories.make_user(email="gone@example.com", active=False)
    result = runner.invoke(args=["create-api-token", "gone@example.com"])
    assert result.exit_code != 0
    assert "deactivated" in result.output


def test_set_password(app, runner, staff, client):
    result = runner.invoke(
        args=["set-password", "staff@example.com", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"email": "staff@example.com", "password": PASSWORD})
    assert response.status_code == 302
    result = runner.invoke(
        args=["set-password", "nobody@example.com", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert result.exit_code != 0
