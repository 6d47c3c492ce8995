"""Every route of the app against every kind of visitor (issue 5: the authorisation matrix).

Visitors: anonymous; a signed-in staff member (with their API token on /api/); a signed-in
admin (likewise); someone holding a revoked API token; and the still-open session (and API
token) of a user who was deactivated after signing in. Each rule in `app.url_map` has an
entry in ROUTES (tests/support/routes.py); a rule without one fails
`test_every_route_is_classified`, so a new route must be given its expected answers before
the suite passes again.

A refusal must also be harmless: after every 302-to-login, 401 and 403 the database is
exactly as it was.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import url_for

from tests.support.routes import (
    ACTORS,
    API_401,
    BROWSER,
    FORBIDDEN,
    LOGIN,
    ROUTES,
    Actor,
    app_routes,
    send,
    snapshot,
)
from tests.support.signin import bearer, sign_in
from tests.support.world import World, deactivate


def make_actors(world: World) -> dict[str, Actor]:
    app = world.app
    deactivated = sign_in(app.test_client(), "gone@example.com")
    assert deactivated.get("/users").status_code == 200  # a working admin session, until...
    deactivate(app, world.gone_id)
    # A valid token records its first use (last_used_at, once a minute) even when the action
    # it asks for is refused (staff on the admins-only API): use it once beforehand, so the
    # "refused leaves the database as it was" check sees the refused action only.
    staff_api = app.test_client().get("/api/v1/public-links", headers=bearer(world.staff_token))
    assert staff_api.status_code == 200
    return {
        "anonymous": Actor(app.test_client()),
        "revoked_token": Actor(app.test_client(), world.revoked_token, token_everywhere=True),
        "deactivated": Actor(deactivated, world.gone_token, token_everywhere=True),
        "staff": Actor(sign_in(app.test_client(), "staff@example.com"), world.staff_token),
        "admin": Actor(sign_in(app.test_client(), "admin@example.com"), world.admin_token),
    }


def problem(expected: int | str, response) -> str | None:  # type: ignore[no-untyped-def]
    if expected == LOGIN:
        location = urlsplit(response.headers.get("Location", ""))
        if response.status_code != 302 or location.path != "/login":
            return f"expected a redirect to /login, got {response.status_code} {location.geturl()}"
        if location.netloc not in ("", "localhost"):
            return f"the sign-in redirect leaves the site: {location.geturl()}"
        return None
    if expected == API_401:
        body = response.get_json(silent=True) or {}
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code != 401 or not isinstance(error, dict):
            return f"expected a 401 JSON error, got {response.status_code} {response.mimetype}"
        if error.get("code") != "unauthorized" or not isinstance(error.get("message"), str):
            return f"the 401 body is not the documented error shape: {body}"
        return None
    if response.status_code != expected:
        return f"expected {expected}, got {response.status_code}"
    return None


def test_every_route_is_classified(sec_app):
    routes = app_routes(sec_app)
    unclassified = sorted(routes - set(ROUTES))
    stale = sorted(set(ROUTES) - routes)
    assert not unclassified, (
        f"new route(s) without an expected answer per visitor; add them to ROUTES: {unclassified}"
    )
    assert not stale, f"ROUTES lists route(s) the app no longer has: {stale}"


@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda key: f"{key[0]}-{key[1]}")
def test_route_answers_every_kind_of_visitor(world, key):
    endpoint, method = key
    route = ROUTES[key]
    app = world.app
    actors = make_actors(world)
    with app.test_request_context():
        path = url_for(endpoint, **route.values(world))
    failures = []
    for name in ACTORS:
        expected = route.expected(name)
        refused = expected in (LOGIN, API_401, FORBIDDEN)
        before = snapshot(app) if refused and method != "GET" else None
        response = send(actors[name], method, path, route, world)
        try:
            if found := problem(expected, response):
                failures.append(f"{name}: {found}")
            if before is not None and snapshot(app) != before:
                failures.append(f"{name}: refused ({expected}) but the database changed")
        finally:
            response.close()
    if route.kind == "api":
        # A signed-in browser session is not an API credential (it would bypass CSRF).
        admin_session = actors["admin"].client
        response = admin_session.open(path, method=method, headers={"User-Agent": BROWSER})
        if found := problem(API_401, response):
            failures.append(f"admin session without a token: {found}")
    assert not failures, f"{method} {path}:\n" + "\n".join(failures)
