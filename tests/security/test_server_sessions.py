"""Issue 9 §5: sessions live on the server, so signing out (or a password change, or
deactivation) ends them wherever their cookie was copied to.

A copied session cookie used to keep working after POST /logout.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support import factories
from webapp.auth import api_tokens
from webapp.extensions import db
from webapp.models import ApiToken, User, UserSession

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def signed_in(app: Flask, email: str, agent: str = FIREFOX, address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    response = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return client


def cookie_of(client: FlaskClient, app: Flask) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def with_cookie(app: Flask, value: str) -> FlaskClient:
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], value)
    return other


def test_a_copied_cookie_stops_working_after_sign_out(app, admin):
    browser = signed_in(app, "admin@example.com")
    thief = with_cookie(app, cookie_of(browser, app))
    assert thief.get("/tokens").status_code == 200  # the copy works while the session is open
    assert browser.post("/logout").status_code == 302
    response = thief.get("/tokens")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_password_change_revokes_the_other_sessions(app, staff):
    laptop = signed_in(app, "staff@example.com")
    phone = signed_in(app, "staff@example.com", SAFARI, "10.0.0.2")
    new = "a brand new passphrase"
    response = laptop.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": new,
            "new_password_confirm": new,
        },
    )
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200  # this browser carries on
    assert phone.get("/account").status_code == 302  # the other one is signed out


def test_deactivation_revokes_sessions_and_tokens_for_good(app, admin, staff):
    boss = signed_in(app, "admin@example.com")
    target = signed_in(app, "staff@example.com")
    with app.app_context():
        token = api_tokens.issue_token(db.session.get(User, staff.id), "integration")
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/public-links", headers=headers).status_code == 200

    assert boss.post(f"/users/{staff.id}/active", data={"active": "0"}).status_code == 302
    assert target.get("/account").status_code == 302
    assert app.test_client().get("/api/v1/public-links", headers=headers).status_code == 401
    with app.app_context():
        rows = db.session.execute(select(UserSession).where(UserSession.user_id == staff.id))
        assert all(row.revoked_at is not None for row in rows.scalars())

    assert boss.post(f"/users/{staff.id}/active", data={"active": "1"}).status_code == 302
    # Reactivated: they sign in again with their password, but the old token stays dead.
    assert app.test_client().get("/api/v1/public-links", headers=headers).status_code == 401
    with app.app_context():
        (row,) = db.session.execute(select(ApiToken).where(ApiToken.user_id == staff.id)).scalars()
        assert row.revoked_at is not None
    assert target.get("/account").status_code == 302  # the old session stays ended too
    assert signed_in(app, "staff@example.com").get("/account").status_code == 200


def test_the_account_page_lists_open_sessions(app, staff):
    laptop = signed_in(app, "staff@example.com", FIREFOX, "192.0.2.10")
    signed_in(app, "staff@example.com", SAFARI, "192.0.2.11")
    gone = signed_in(app, "staff@example.com", SAFARI, "192.0.2.12")
    gone.post("/logout")
    html = laptop.get("/account").get_data(as_text=True)
    section = html[html.index('id="sessions"') :]
    assert "Where you are signed in" in html
    assert "Firefox on Linux" in section and "This browser" in section
    assert "Safari on iPhone" in section
    assert "192.0.2.10" in section and "192.0.2.11" in section
    assert "192.0.2.12" not in section  # signed out: no longer listed
    assert "Sign out everywhere else" in section


def test_sign_out_everywhere_else(app, staff):
    laptop = signed_in(app, "staff@example.com")
    others = [signed_in(app, "staff@example.com", SAFARI, f"10.0.1.{n}") for n in range(2)]
    response = laptop.post("/account/sessions/sign-out-others", follow_redirects=True)
    assert "Signed out everywhere else (2 other sessions)" in response.get_data(as_text=True)
    assert laptop.get("/account").status_code == 200
    assert [other.get("/account").status_code for other in others] == [302, 302]


def session_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"/account/sessions/(\d+)/sign-out", html)]


def test_sign_out_one_session_and_not_someone_elses(app, admin, staff):
    laptop = signed_in(app, "staff@example.com")
    phone = signed_in(app, "staff@example.com", SAFARI, "10.0.0.2")
    boss = signed_in(app, "admin@example.com")
    ids = session_ids(laptop.get("/account").get_data(as_text=True))
    assert len(ids) == 2
    boss_ids = session_ids(boss.get("/account").get_data(as_text=True))
    # Someone else's session id is not theirs to end: 404, and it stays open.
    assert laptop.post(f"/account/sessions/{boss_ids[0]}/sign-out").status_code == 404
    assert boss.get("/account").status_code == 200
    with app.app_context():
        phone_id = db.session.execute(
            select(UserSession.id).where(UserSession.address == "10.0.0.2")
        ).scalar_one()
    assert laptop.post(f"/account/sessions/{phone_id}/sign-out").status_code == 302
    assert phone.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


@pytest.mark.parametrize("value", ["", "nonsense", "x" * 500, 7])
def test_unknown_session_ids_mean_signed_out(app, staff, value):
    client = signed_in(app, "staff@example.com")
    with client.session_transaction() as session:
        session["sid"] = value
    assert client.get("/account").status_code == 302


def test_last_seen_is_written_at_most_once_a_minute(app, staff):
    client = signed_in(app, "staff@example.com")
    with app.app_context():
        row = db.session.execute(select(UserSession)).scalar_one()
        first_seen = row.last_seen_at
    for _ in range(3):
        client.get("/account")
    with app.app_context():
        assert db.session.execute(select(UserSession)).scalar_one().last_seen_at == first_seen
