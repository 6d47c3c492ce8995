"""Sessionless endpoints (webapp/staff_pages.py): the redirect and the receiver set no
session cookie and no Vary: Cookie, and no staff page can be left open by putting it on a
sessionless blueprint.

The staff pages keep their machinery (CSRF: test_csrf.py; sign-in: test_authorisation_matrix.py);
the controls here show the same requests on a staff page do set the cookie.
"""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask, session

from tests.support import factories
from tests.support.signin import sign_in
from webapp import staff_pages
from webapp.auth.access import public, sessionless
from webapp.extensions import db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def session_cookies(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


@pytest.fixture
def staff(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        user = factories.make_user(email="staff@example.com")
        public_link = factories.make_public_link()
        slug = factories.make_tracked_link(public_link.id).slug
        user_id = user.id
    client = sign_in(app.test_client(), user_id)
    return client, slug


def test_the_redirect_sets_no_cookie_even_for_a_signed_in_browser(staff):
    client, slug = staff
    for path in (f"/l/{slug}", "/l/no-such-link"):
        response = client.get(path, headers={"User-Agent": BROWSER})
        assert response.status_code in (302, 404)
        assert session_cookies(response) == [], path
        assert "Cookie" not in response.headers.get("Vary", ""), path
    # The control: a staff page on the same client refreshes its session cookie.
    page = client.get("/public-links")
    assert page.status_code == 200 and session_cookies(page)
    assert "Cookie" in page.headers.get("Vary", "")


def test_the_receiver_sets_no_cookie_even_for_a_signed_in_client(staff):
    client, _ = staff
    response = client.post(
        "/webhooks/cronofy", data=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401  # unsigned: refused, and still no cookie
    assert session_cookies(response) == []
    assert "Cookie" not in response.headers.get("Vary", "")


def test_the_session_still_works_after_a_sessionless_answer(staff):
    client, slug = staff
    client.get(f"/l/{slug}", headers={"User-Agent": BROWSER})
    assert client.get("/public-links").status_code == 200  # still signed in


def test_a_sessionless_view_writing_the_session_sets_no_cookie(app):
    @app.get("/_sessionless_probe")
    @sessionless
    @public
    def probe():  # type: ignore[no-untyped-def]
        session["written"] = True
        return "ok"

    @app.get("/_staff_probe")
    @public
    def staff_probe():  # type: ignore[no-untyped-def]
        session["written"] = True
        return "ok"

    # Routes added after create_app are read by a fresh init (as create_app would).
    staff_pages.init_app(app)
    client = app.test_client()
    assert session_cookies(client.get("/_sessionless_probe")) == []
    assert session_cookies(client.get("/_staff_probe"))  # the control


def test_a_sessionless_blueprint_cannot_hold_a_staff_page():
    """A view on a sessionless blueprint that is not public would never see a signed-in
    user: the app refuses to start rather than serve it to anonymous visitors."""
    app = Flask(__name__)
    bp = sessionless(Blueprint("machines", __name__))

    @bp.get("/open")
    @public
    def open_view():  # type: ignore[no-untyped-def]
        return "ok"

    @bp.get("/forgot-the-mark")
    def staff_view():  # type: ignore[no-untyped-def]
        return "secret"

    app.register_blueprint(bp)
    with pytest.raises(RuntimeError, match=r"machines\.staff_view"):
        staff_pages.init_app(app)


def test_the_app_s_sessionless_endpoints_are_the_public_machine_endpoints(app):
    """What is sessionless today, so that a change is a decision (and is reviewed)."""
    with app.app_context():
        sessionless_endpoints = app.session_interface.sessionless_endpoints
        db.session.remove()
    assert {"tracking.follow", "webhooks.receive"} <= sessionless_endpoints
    assert not {"auth.login", "auth.logout", "links.index", "live.index"} & sessionless_endpoints
    assert not any(name.startswith("sandbox.") for name in sessionless_endpoints)
