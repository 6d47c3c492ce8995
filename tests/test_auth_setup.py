"""First run: /setup creates the first admin while no account exists, then is gone."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.support import factories
from webapp.extensions import db
from webapp.models import User

GOOD = {
    "email": "Founder@Example.com",
    "name": "Fran Founder",
    "password": "a long enough password",
    "password_confirm": "a long enough password",
}


def user_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(User.id))).scalar_one()


def test_login_leads_to_setup_while_no_user_exists(client):
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/setup")


def test_sign_in_required_page_leads_through_login_to_setup(client):
    response = client.get("/tokens")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    response = client.get(response.headers["Location"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/setup?next=/tokens"


def test_setup_page_shows_a_labelled_form(client):
    response = client.get("/setup")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    for name in ("email", "name", "password", "password_confirm"):
        assert f'for="f-{name}"' in html
        assert f'name="{name}"' in html


def test_setup_creates_the_first_admin_and_signs_them_in(app, client):
    response = client.post("/setup", data=GOOD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.email == "founder@example.com"
        assert user.name == "Fran Founder"
        assert user.role == "admin"
        assert user.active
        assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
        assert "a long enough password" not in user.password_hash
    assert client.get("/users").status_code == 200  # signed in, as an admin


def test_setup_follows_a_safe_next(client):
    response = client.post("/setup", data={**GOOD, "next": "/tokens"})
    assert response.headers["Location"] == "/tokens"


def test_setup_refuses_an_evil_next(client):
    response = client.post("/setup", data={**GOOD, "next": "//evil.example"})
    assert response.headers["Location"] == "/"


def test_setup_is_gone_once_done_and_cannot_make_another_admin(app, client):
    assert client.post("/setup", data=GOOD).status_code == 302
    other = app.test_client()
    assert other.get("/setup").status_code == 404
    response = other.post(
        "/setup",
        data={**GOOD, "email": "intruder@example.com", "name": "Intruder"},
    )
    assert response.status_code == 404
    assert user_count(app) == 1
    # and /login is the ordinary sign-in page now
    assert other.get("/login").status_code == 200


def test_setup_is_gone_when_a_user_was_made_another_way(app, client):
    with app.app_context():
        factories.make_user(email="cli@example.com", role="staff")
    assert client.get("/setup").status_code == 404
    assert client.post("/setup", data=GOOD).status_code == 404
    assert user_count(app) == 1


def test_setup_short_password_keeps_values_and_shows_field_error(app, client):
    response = client.post(
        "/setup", data={**GOOD, "password": "short", "password_confirm": "short"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "at least 12 characters" in html
    assert 'id="e-password"' in html
    assert 'value="founder@example.com"' in html or 'value="Founder@Example.com"' in html
    assert 'value="Fran Founder"' in html
    assert 'value="short"' not in html
    assert user_count(app) == 0


def test_setup_passwords_must_match(app, client):
    response = client.post("/setup", data={**GOOD, "password_confirm": "another long password"})
    assert response.status_code == 422
    assert "not the same" in response.get_data(as_text=True)
    assert user_count(app) == 0


def test_setup_refuses_a_bad_email(app, client):
    response = client.post("/setup", data={**GOOD, "email": "not an email"})
    assert response.status_code == 422
    assert 'id="e-email"' in response.get_data(as_text=True)
    assert user_count(app) == 0


def test_a_newcomer_opening_the_dashboard_lands_on_setup_without_a_sign_in_nag(client):
    response = client.get("/", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.request.path == "/setup"
    assert "Please sign in" not in html
