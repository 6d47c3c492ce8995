"""The staff pages' machinery, and the one documented way out of it.

Every endpoint is a staff page unless marked otherwise. A staff page runs with Flask's
cookie session, Flask-Login's user, Flask-WTF's CSRF check on state-changing requests, and
needs a signed-in, active user unless its view is marked `webapp.auth.access.public` or it
belongs to the JSON API (which checks its own bearer tokens). Deny by default: a new page
cannot be left open by forgetting a decorator.

An endpoint marked `webapp.auth.access.sessionless` (a view, or every view of a blueprint)
runs without that machinery: no CSRF check (no session holds a token; the receiver checks
an HMAC instead), no sign-in check, and its session is never saved (no Set-Cookie, no
`Vary: Cookie`). It can never see a signed-in user, so each of its views must also be
`public`: the app refuses to start otherwise. The invitees' redirect and the Cronofy
receiver are sessionless; on the redirect the machinery cost about a sixth of the
request (benchmarks/README.md).

The sessionless marks are read once, when the app is built (`init_app` runs after every
blueprint is registered); a route added later gets the staff machinery, which fails closed.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user

from webapp.extensions import csrf, login_manager

# Blueprints whose views check their own credentials (bearer tokens) instead of sign-in.
SELF_AUTHENTICATING_BLUEPRINTS = frozenset({"api"})


class StaffSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, never saved on a sessionless endpoint."""

    def __init__(self, sessionless_endpoints: frozenset[str]) -> None:
        self.sessionless_endpoints = sessionless_endpoints

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Flask opens the session before routing, so the endpoint is not known yet. Without
        # any cookie (every invitee, Cronofy) the session is empty: answered without
        # parsing cookies or building the cookie signer, which Flask's own open_session
        # does first (a tenth of the redirect's Python calls, benchmarks/README.md).
        if app.secret_key and not request.headers.get("Cookie"):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if request.endpoint in self.sessionless_endpoints:
            return  # whatever a template read or wrote, a sessionless answer sets no cookie
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Read the sessionless marks of every registered view; install the machinery."""
    sessionless = frozenset(_marked_sessionless(app))
    closed = sorted(endpoint for endpoint in sessionless if not _open_to_all(app, endpoint))
    if closed:
        raise RuntimeError(
            "sessionless endpoints can never see a signed-in user, so they must be marked "
            f"public too (webapp.auth.access.public): {closed}"
        )
    app.session_interface = StaffSessionInterface(sessionless)
    # Flask-WTF's documented way to check CSRF selectively: its own every-request hook
    # stands down and the check below calls protect() for staff pages only.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    config = app.config

    @app.before_request
    def staff_pages_only() -> Response | None:
        endpoint = request.endpoint
        if endpoint in sessionless:
            return None
        if config["WTF_CSRF_ENABLED"] and request.method in config["WTF_CSRF_METHODS"]:
            csrf.protect(apply_exemptions=True)  # honours csrf.exempt (API, receiver)
        if endpoint is None or _open_to_all(app, endpoint) or current_user.is_authenticated:
            return None
        return login_manager.unauthorized()  # type: ignore[no-any-return]


def _blueprints_of(endpoint: str) -> list[str]:
    """'a.b.view' -> ['a', 'a.b']: the blueprint and its parents."""
    parts = endpoint.split(".")[:-1]
    return [".".join(parts[:index]) for index in range(1, len(parts) + 1)]


def _marked_sessionless(app: Flask) -> Iterator[str]:
    for endpoint, view in app.view_functions.items():
        blueprints = [app.blueprints.get(name) for name in _blueprints_of(endpoint)]
        if getattr(view, "sessionless", False) or any(
            getattr(blueprint, "sessionless", False) for blueprint in blueprints
        ):
            yield endpoint


def _open_to_all(app: Flask, endpoint: str) -> bool:
    """Reached without signing in: static files, views marked public, the API."""
    if endpoint == "static" or getattr(app.view_functions.get(endpoint), "is_public", False):
        return True
    return not SELF_AUTHENTICATING_BLUEPRINTS.isdisjoint(_blueprints_of(endpoint))
