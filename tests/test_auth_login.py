"""Sign-in and sign-out through the test client: credentials, safe next, CSRF, cookies."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import func, select

from tests.support import factories
from webapp.extensions import db
from webapp.models import FailedSignIn
from webapp.urls import safe_next

GENERIC = "Email or password is incorrect"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def session_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert headers, response.headers
    return headers[-1]


def test_login_page_is_a_labelled_form(client, admin):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert 'for="f-email"' in html and 'for="f-password"' in html


def test_login_success_signs_in_and_goes_to_the_dashboard(client, admin, auth):
    assert client.get("/tokens").status_code == 302
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/tokens").status_code == 200


def test_login_email_is_case_insensitive_and_trimmed(client, admin):
    response = client.post(
        "/login", data={"email": "  ADMIN@Example.COM ", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/tokens").status_code == 200


def test_wrong_password_gets_the_generic_error_and_keeps_the_email(client, admin):
    response = client.post(
        "/login", data={"email": "admin@example.com", "password": "wrong password!!"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert GENERIC in html
    assert 'value="admin@example.com"' in html
    assert "wrong password!!" not in html
    assert client.get("/tokens").status_code == 302


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, admin):
    unknown = client.post("/login", data={"email": "nobody@example.com", "password": "x" * 14})
    wrong = client.post("/login", data={"email": "admin@example.com", "password": "x" * 14})
    assert unknown.status_code == wrong.status_code == 422
    assert GENERIC in unknown.get_data(as_text=True)
    assert GENERIC in wrong.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in_even_with_the_right_password(app, client):
    with app.app_context():
        factories.make_user(email="gone@example.com", active=False)
    response = client.post(
        "/login", data={"email": "gone@example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 422
    assert GENERIC in response.get_data(as_text=True)
    assert client.get("/tokens").status_code == 302


def test_blank_fields_are_field_errors_and_not_counted_as_failures(app, client, admin):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="e-email"' in html and 'id="e-password"' in html
    with app.app_context():
        assert db.session.execute(select(func.count(FailedSignIn.id))).scalar_one() == 0


GOOD_NEXT = ["/links?x=1", "/tokens", "/requests/srq_123?status=time_chosen&x=%2F%2F", "/"]
EVIL_NEXT = [
    "//evil.com",
    "https://evil.com",
    "http://evil.com/links",
    "/\\evil.com",
    "\\\\evil.com",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "/\t/evil.com",
    "/\n/evil.com",
    " //evil.com",
    "evil.com",
    "https:evil.com",
    "",
]


@pytest.mark.parametrize("target", GOOD_NEXT)
def test_safe_next_keeps_same_site_paths(client, admin, target):
    assert safe_next(target) == target
    response = client.post(
        "/login",
        data={"email": "admin@example.com", "password": factories.PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_safe_next_refuses_other_origins(client, admin, target):
    assert safe_next(target) is None
    response = client.post(
        "/login",
        data={"email": "admin@example.com", "password": factories.PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_from_the_query_string_survives_the_sign_in_page(client, admin):
    page = client.get("/login?next=/links%3Fx%3D1").get_data(as_text=True)
    assert 'name="next" value="/links?x=1"' in page
    evil = client.get("/login?next=//evil.com").get_data(as_text=True)
    assert "evil.com" not in evil


def test_anonymous_visit_remembers_where_it_was_going(client, admin, auth):
    response = client.get("/tokens?x=1")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    response = client.post(
        login_url, data={"email": "admin@example.com", "password": factories.PASSWORD}
    )
    assert response.headers["Location"] == "/tokens?x=1"


def test_signed_in_visit_to_login_goes_on(client, admin, auth):
    auth.login()
    response = client.get("/login?next=/tokens")
    assert response.status_code == 302
    assert response.headers["Location"] == "/tokens"


def test_logout_needs_post(client, admin, auth):
    auth.login()
    assert client.get("/logout").status_code == 405
    assert client.get("/tokens").status_code == 200


def test_logout_ends_the_session(client, admin, auth):
    auth.login()
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/tokens").status_code == 302
    assert "You have signed out" in client.get("/login").get_data(as_text=True)


def test_csrf_protects_login_and_logout(admin, app_factory):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    credentials = {"email": "admin@example.com", "password": factories.PASSWORD}

    assert client.post("/login", data=credentials).status_code == 400
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={**credentials, "csrf_token": token}).status_code == 302

    page = client.get("/tokens")
    assert page.status_code == 200
    assert client.post("/logout").status_code == 400
    assert client.get("/tokens").status_code == 200  # still signed in

    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/tokens").status_code == 302


def test_session_cookie_flags(client, admin, auth, app):
    header = session_cookie_header(auth.login())
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # plain http on 127.0.0.1 must work by default
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    # permanent session: the cookie carries an expiry about 12 hours ahead
    expires = re.search(r"Expires=([^;]+)", header)
    assert expires, header
    left = parsedate_to_datetime(expires.group(1)) - datetime.now(UTC)
    assert timedelta(hours=11, minutes=55) < left <= timedelta(hours=12, minutes=1)


def test_session_cookie_is_secure_behind_https(admin, app_factory):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "admin@example.com", "password": factories.PASSWORD}
    )
    header = session_cookie_header(response)
    assert "Secure" in header
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_default_config_session_lifetime_is_12_hours(app_factory):
    from webapp.config import DEFAULTS

    assert DEFAULTS["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert DEFAULTS["SESSION_COOKIE_HTTPONLY"] is True
    assert DEFAULTS["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_sign_in_starts_a_new_session(client, admin, auth):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent
