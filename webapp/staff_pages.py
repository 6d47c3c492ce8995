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

Staff pages also refuse a state-changing request whose `Origin` header names another site
(403; webapp/origins.py), and every answer they give (pages, exports, the JSON API) is
`Cache-Control: no-store` unless it chose its own caching: what a signed-in person saw must
not stay in a shared computer's browser cache or a proxy.

The sessionless marks are read once, when the app is built (`init_app` runs after every
blueprint is registered); a route added later gets the staff machinery, which fails closed.

Other packages add to the staff pages' machinery with `before_staff_pages` (e.g. the
silence banner's refresh), not with an app-wide hook: a sessionless request then passes
one check, not one per package, and no hook needs to know which paths are public.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user

from webapp.errors import error_page, json_error, wants_json
from webapp.extensions import csrf, login_manager
from webapp.origins import is_own_origin

# Blueprints whose views check their own credentials (bearer tokens) instead of sign-in.
SELF_AUTHENTICATING_BLUEPRINTS = frozenset({"api"})
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_ORIGIN_MESSAGE = (
    "This request came from another website, so it was refused. "
    "Open this app's own page and try again from there."
)


_BEFORE = "webapp.staff_pages.before"


def before_staff_pages(app: Flask, hook: Callable[[], Response | None]) -> None:
    """Run `hook` before every staff page, once its sign-in and CSRF checks have passed (a
    response it returns is the answer); never on a sessionless endpoint. Call before
    `init_app`."""
    app.extensions.setdefault(_BEFORE, []).append(hook)


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
    before = tuple(app.extensions.get(_BEFORE, ()))

    @app.before_request
    def staff_pages_only() -> Response | None:
        endpoint = request.endpoint
        # Sessionless endpoints skip the Origin check as well. The receiver is the only one
        # that changes state, and it acts on an HMAC over the body made with a secret no
        # browser page has: a cross-origin page can make it do nothing that a forger
        # without an Origin header could not, so the check would be cost for nothing.
        if endpoint in sessionless:
            return None
        if request.method in STATE_CHANGING_METHODS and not _same_origin_or_none(app):
            return _cross_origin_refusal()
        if config["WTF_CSRF_ENABLED"] and request.method in config["WTF_CSRF_METHODS"]:
            csrf.protect(apply_exemptions=True)  # honours csrf.exempt (API, receiver)
        if not (endpoint is None or _open_to_all(app, endpoint) or current_user.is_authenticated):
            return login_manager.unauthorized()  # type: ignore[no-any-return]
        for hook in before:
            answer = hook()
            if answer is not None:
                return answer
        return None

    @app.after_request
    def not_stored(response: Response) -> Response:
        endpoint = request.endpoint
        if endpoint in sessionless:
            return response
        if endpoint != "static" and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response


def _same_origin_or_none(app: Flask) -> bool:
    """No Origin header (servers, older browsers), or this app's own origin.

    The bearer-token API gets the same check: a server-side integration sends no Origin,
    and a browser page on another site could only call it with a token in the
    Authorization header, which needs a CORS preflight this app never grants. Refusing
    such requests up front costs integrations nothing and keeps the API safe should it
    ever accept a cookie.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own = [f"{request.scheme}://{request.host}"]
    if base := app.config.get("PUBLIC_BASE_URL"):
        own.append(str(base))
    return is_own_origin(origin, own)


def _cross_origin_refusal() -> Response:
    if wants_json():
        body, status = json_error(403, CROSS_ORIGIN_MESSAGE, code="cross_origin")
        body.status_code = status
        return body  # type: ignore[no-any-return]
    response = Response(error_page(403, CROSS_ORIGIN_MESSAGE, title="Request refused"), 403)
    response.headers["Cache-Control"] = "no-store"
    return response


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
