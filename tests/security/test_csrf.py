"""CSRF on every state-changing form (issue 5), with Flask-WTF's protection switched on.

Every POST/PATCH/DELETE route outside the bearer-token API and the HMAC-checked receiver,
posted by a signed-in admin without a token (or with another session's token), answers 400
and changes nothing. Every POST form any page renders carries the token, and a few
representative forms work end to end with the token scraped from their page.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from tests.support.deliveries import post_signed
from tests.support.routes import ROUTES, app_routes, snapshot
from tests.support.signin import bearer, sign_in
from tests.support.world import UNREACHABLE, World, build_world
from webapp.extensions import db
from webapp.models import ApiToken, PublicLink, TrackedLink, User, utcnow
from webapp.tracking.tokens import mint_claim_token

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
EXEMPT = {"webhooks.receive"}  # HMAC-checked; the API (bearer tokens) is exempt as a whole


class Forms(HTMLParser):
    """Every <form> of a page: method, action and the names (and values) of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = {
                "method": values.get("method", "get").lower(),
                "action": values.get("action", ""),
                "inputs": {},
            }
            self.forms.append(self._current)
        elif (
            tag in ("input", "button", "select", "textarea")
            and self._current
            and values.get("name")
        ):
            self._current["inputs"][values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(page: str) -> list[dict]:
    parser = Forms()
    parser.feed(page)
    return parser.forms


def token_for(page: str, action: str) -> str:
    """The CSRF token of the page's POST form for `action` (fails if it has none).

    A form without an action posts to its own page: pass that page's path as `action`.
    """
    for form in forms_of(page):
        if form["method"] == "post" and urlsplit(form["action"]).path in (action, ""):
            assert "csrf_token" in form["inputs"], f"the form for {action} has no CSRF token"
            return form["inputs"]["csrf_token"]
    raise AssertionError(f"no POST form for {action} on the page")


@pytest.fixture
def csrf_world(app_factory) -> World:
    app = app_factory(
        WTF_CSRF_ENABLED=True,
        WEBAPP_SANDBOX=True,
        SANDBOX_RECEIVER_URL=UNREACHABLE + "/never-called",
        PUBLIC_BASE_URL=UNREACHABLE,
        SSE_MAX_DURATION=0.3,
    )
    return build_world(app)


def state_changing_routes(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (endpoint, method)
        for endpoint, method in app_routes(app)
        if method in STATE_CHANGING and endpoint not in EXEMPT and not endpoint.startswith("api.")
    )


def path_of(world: World, endpoint: str, method: str) -> str:
    route = ROUTES[(endpoint, method)]  # a new route is classified in the matrix first
    with world.app.test_request_context():
        return url_for(endpoint, **route.values(world))


def test_every_state_changing_route_refuses_a_post_without_a_token(csrf_world):
    app = csrf_world.app
    admin = sign_in(app.test_client(), "admin@example.com")
    other = sign_in(app.test_client(), "staff@example.com")
    foreign_token = token_for(other.get("/tokens").get_data(as_text=True), "/tokens")
    routes = state_changing_routes(app)
    assert len(routes) >= 20  # the enumeration found the app's forms
    failures = []
    for endpoint, method in routes:
        path = path_of(csrf_world, endpoint, method)
        data = (ROUTES[(endpoint, method)].data or (lambda w: {}))(csrf_world)
        for label, extra in (
            ("no token", {}),
            ("another session's token", {"csrf_token": foreign_token}),
        ):
            before = snapshot(app)
            response = admin.open(path, method=method, data={**data, **extra})
            if response.status_code != 400:
                failures.append(f"{method} {path} with {label}: {response.status_code}")
            if snapshot(app) != before:
                failures.append(f"{method} {path} with {label}: the database changed")
    assert not failures, "\n".join(failures)
    assert admin.get("/users").status_code == 200  # the refused logout did not sign out


def test_every_post_form_on_every_page_carries_the_token(csrf_world):
    """Each GET page the matrix knows, seen by an admin (and the sandbox's invitee pages)."""
    app = csrf_world.app
    admin = sign_in(app.test_client(), "admin@example.com")
    pages = [
        path_of(csrf_world, endpoint, method)
        for endpoint, method in sorted(ROUTES)
        if method == "GET"
        and endpoint not in ("live.stream", "live.export", "links.tracked_links_export")
        and not endpoint.startswith("api.")
    ]
    token = mint_claim_token(
        embed_public_key=app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
        embed_secret=app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        now=utcnow(),
        lifetime_seconds=600,
    ).token
    pages.append(f"/sandbox/pls/demo?claim_token={token}")
    checked = 0
    missing = []
    for path in pages:
        response = admin.get(path)
        if response.mimetype != "text/html":
            continue
        for form in forms_of(response.get_data(as_text=True)):
            if form["method"] != "post":
                continue
            checked += 1
            if not form["inputs"].get("csrf_token"):
                missing.append(f"{path}: form for {form['action'] or '(itself)'}")
    assert checked >= 10, checked
    assert not missing, "POST forms without a CSRF token:\n" + "\n".join(missing)


def test_forms_work_with_the_token_from_their_page(csrf_world):
    app = csrf_world.app
    admin = sign_in(app.test_client(), "admin@example.com")

    page = admin.get("/public-links/new").get_data(as_text=True)
    response = admin.post(
        "/public-links/new",
        data={
            "csrf_token": token_for(page, "/public-links/new"),
            "name": "Sales calls",
            "url": "https://app-uk.cronofy.com/pls/SALES1",
        },
    )
    assert response.status_code == 302

    detail = f"/links/{csrf_world.tracked_link_id}"
    page = admin.get(detail).get_data(as_text=True)
    response = admin.post(
        detail + "/disable", data={"csrf_token": token_for(page, detail + "/disable")}
    )
    assert response.status_code == 302

    page = admin.get("/users").get_data(as_text=True)
    response = admin.post(
        "/users",
        data={
            "csrf_token": token_for(page, "/users"),
            "email": "new@example.com",
            "name": "New Person",
            "role": "staff",
            "password": "a long enough password",
            "password_confirm": "a long enough password",
        },
    )
    assert response.status_code == 302

    page = admin.get("/tokens").get_data(as_text=True)
    response = admin.post("/tokens", data={"csrf_token": token_for(page, "/tokens"), "name": "CI"})
    assert response.status_code == 200 and "plk_" in response.get_data(as_text=True)

    with app.app_context():
        assert db.session.scalar(select(PublicLink).where(PublicLink.name == "Sales calls"))
        assert db.session.get(TrackedLink, csrf_world.tracked_link_id).disabled_at is not None
        assert db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert db.session.scalar(select(ApiToken).where(ApiToken.name == "CI"))
        db.session.remove()

    page = admin.get("/").get_data(as_text=True)
    response = admin.post("/logout", data={"csrf_token": token_for(page, "/logout")})
    assert response.status_code == 302
    assert urlsplit(admin.get("/").headers.get("Location", "")).path == "/login"


def test_the_invitee_booking_form_needs_its_token_too(csrf_world):
    app = csrf_world.app
    invitee = app.test_client()
    token = mint_claim_token(
        embed_public_key=app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"],
        embed_secret=app.config["CRONOFY_SCHEDULER_EMBED_SECRET"],
        now=utcnow(),
        lifetime_seconds=600,
    ).token
    page = invitee.get("/sandbox/pls/demo", query_string={"claim_token": token})
    assert page.status_code == 200
    form = next(f for f in forms_of(page.get_data(as_text=True)) if f["method"] == "post")
    slot = re.search(r'name="slot" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answers = {"jti": form["inputs"]["jti"], "slot": slot, "name": "Ada", "email": "a@example.com"}
    assert invitee.post("/sandbox/pls/demo", data=answers).status_code == 400
    answers["csrf_token"] = form["inputs"]["csrf_token"]
    assert invitee.post("/sandbox/pls/demo", data=answers).status_code == 303


def test_the_receiver_and_the_api_need_no_csrf_token(csrf_world):
    app = csrf_world.app
    client = app.test_client()
    body = b'{"notification": {"type": "scheduling_request_ping"}}'
    assert post_signed(client, body, app.config["CLIENT_SECRETS"][0]).status_code == 200
    response = client.post(
        "/api/v1/public-links",
        json={"name": "From CI", "url": "https://app.cronofy.com/pls/CI1"},
        headers=bearer(csrf_world.admin_token),
    )
    assert response.status_code == 201
