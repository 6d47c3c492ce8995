"""Every route of the app and what it answers to each kind of visitor (the authorisation
matrix's table, tests/security/test_authorisation_matrix.py; the CSRF suite walks it too).

Each rule in `app.url_map` has an entry in ROUTES; a rule without one fails
`test_every_route_is_classified`, so a new route is given its expected answers here first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.support.signin import bearer
from tests.support.world import World
from webapp.extensions import db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
ACTORS = ("anonymous", "revoked_token", "deactivated", "staff", "admin")

LOGIN = "redirect to /login"
API_401 = "401 JSON"
FORBIDDEN = 403


@dataclass(frozen=True)
class Route:
    """What one (endpoint, method) answers to each visitor."""

    kind: str  # "public" | "staff" | "admin" | "api"
    values: Callable[[World], dict[str, Any]] = lambda world: {}
    data: Callable[[World], dict[str, Any]] | None = None
    ok: int = 200  # the signed-in answer (admin; staff too unless staff_ok says otherwise)
    staff_ok: int | None = None
    public: dict[str, int] = field(default_factory=dict)  # kind "public": per actor

    def expected(self, actor: str) -> int | str:
        if self.kind == "public":
            return self.public.get(actor, self.public.get("*", 200))
        if actor in ("anonymous", "revoked_token", "deactivated"):
            return API_401 if self.kind == "api" else LOGIN
        if actor == "staff":
            if self.kind == "admin":
                return FORBIDDEN
            return self.ok if self.staff_ok is None else self.staff_ok
        return self.ok


def everyone(status: int, **per_actor: int) -> dict[str, int]:
    return {"*": status, **per_actor}


def public_link(world: World) -> dict[str, Any]:
    return {"link_id": world.public_link_id}


def tracked_link(world: World) -> dict[str, Any]:
    return {"link_id": world.tracked_link_id}


def staff_user(world: World) -> dict[str, Any]:
    return {"user_id": world.staff_id}


def endpoint(world: World) -> dict[str, Any]:
    return {"endpoint_id": world.webhook_endpoint_id}


def endpoint_message(world: World) -> dict[str, Any]:
    return {"endpoint_id": world.webhook_endpoint_id, "message_pk": world.outbox_message_pk}


def booking(world: World) -> dict[str, Any]:
    return {"token": world.booking_token}


ROUTES: dict[tuple[str, str], Route] = {
    # -- public ------------------------------------------------------------------------------
    ("health.healthz", "GET"): Route("public", public=everyone(200)),
    ("organisation.logo", "GET"): Route("public", public=everyone(404)),  # none uploaded
    ("auth.login", "GET"): Route("public", public=everyone(200, staff=302, admin=302)),
    ("auth.login", "POST"): Route("public", data=lambda w: {}, public=everyone(422)),
    ("auth.setup", "GET"): Route("public", public=everyone(404)),
    ("auth.setup", "POST"): Route("public", data=lambda w: {}, public=everyone(404)),
    ("auth.logout", "POST"): Route("public", data=lambda w: {}, public=everyone(302)),
    ("tracking.follow", "GET"): Route(
        "public", values=lambda w: {"slug": w.slug}, public=everyone(302)
    ),
    ("webhooks.receive", "POST"): Route("public", data=lambda w: {}, public=everyone(401)),
    # Without a claim token the booking page still opens (as on Cronofy).
    ("sandbox.booking_page", "GET"): Route(
        "public", values=lambda w: {"code": w.sandbox_code}, public=everyone(200)
    ),
    ("sandbox.confirm", "POST"): Route(
        "public", values=lambda w: {"code": w.sandbox_code}, data=lambda w: {}, public=everyone(403)
    ),
    ("sandbox.confirmation", "GET"): Route("public", values=booking, public=everyone(200)),
    ("sandbox.reschedule", "POST"): Route(
        "public", values=booking, data=lambda w: {}, public=everyone(422)
    ),
    ("sandbox.decline", "POST"): Route(
        "public", values=booking, data=lambda w: {}, public=everyone(303)
    ),
    # -- any signed-in user ------------------------------------------------------------------
    ("sandbox.scheduler", "GET"): Route(
        "staff", values=lambda w: {"request_id": w.booking_request_id.removeprefix("srq_")}
    ),
    ("live.index", "GET"): Route("staff"),
    ("live.stream", "GET"): Route("staff"),
    ("live.export", "GET"): Route("staff"),
    ("live.request_detail", "GET"): Route(
        "staff", values=lambda w: {"scheduling_request_id": w.scheduling_request_id}
    ),
    ("auth.account", "GET"): Route("staff"),
    ("auth.account_details", "POST"): Route("staff", data=lambda w: {"name": "x" * 201}, ok=422),
    ("auth.account_password", "GET"): Route("staff", ok=302),
    ("auth.account_password", "POST"): Route("staff", data=lambda w: {}, ok=422),
    # Nobody's session has this id: signed-in visitors get 404 (their own sessions only).
    ("auth.account_session_sign_out", "POST"): Route(
        "staff", values=lambda w: {"session_id": 999_999}, data=lambda w: {}, ok=404
    ),
    ("auth.account_sessions_sign_out_others", "POST"): Route("staff", data=lambda w: {}, ok=302),
    ("auth.dismiss_banner", "POST"): Route("staff", data=lambda w: {"key": "sandbox"}, ok=302),
    ("auth.tokens", "GET"): Route("staff"),
    ("auth.token_create", "POST"): Route("staff", data=lambda w: {"name": "matrix"}),
    # The admin's own token: the admin revokes it; staff may not even see that it exists.
    ("auth.token_revoke", "POST"): Route(
        "staff",
        values=lambda w: {"token_id": w.spare_token_id},
        data=lambda w: {},
        ok=302,
        staff_ok=404,
    ),
    ("links.public_links", "GET"): Route("staff"),
    ("links.public_link_new", "GET"): Route("staff"),
    ("links.public_link_new", "POST"): Route("staff", data=lambda w: {}, ok=422),
    ("links.public_link_edit", "GET"): Route("staff", values=public_link),
    ("links.public_link_edit", "POST"): Route(
        "staff", values=public_link, data=lambda w: {}, ok=422
    ),
    ("links.public_link_deactivate", "POST"): Route(
        "staff", values=public_link, data=lambda w: {}, ok=302
    ),
    ("links.public_link_reactivate", "POST"): Route(
        "staff", values=public_link, data=lambda w: {}, ok=302
    ),
    ("links.tracked_links", "GET"): Route("staff"),
    ("links.tracked_links_export", "GET"): Route("staff"),
    ("links.tracked_links_bulk", "GET"): Route("staff"),
    ("links.tracked_links_bulk_upload", "POST"): Route("staff", data=lambda w: {}, ok=422),
    ("links.tracked_links_bulk_template", "GET"): Route("staff"),
    ("links.tracked_links_batch", "GET"): Route("staff", values=lambda w: {"batch_id": w.batch_id}),
    ("links.tracked_links_batch_csv", "GET"): Route(
        "staff", values=lambda w: {"batch_id": w.batch_id}
    ),
    ("links.public_link_sandbox", "POST"): Route("staff", data=lambda w: {}, ok=302),
    ("links.tracked_link_new", "GET"): Route("staff"),
    ("links.tracked_link_new", "POST"): Route("staff", data=lambda w: {}, ok=422),
    ("links.tracked_link_detail", "GET"): Route("staff", values=tracked_link),
    ("links.tracked_link_edit", "GET"): Route("staff", values=tracked_link),
    ("links.tracked_link_update", "POST"): Route(
        "staff", values=tracked_link, data=lambda w: {}, ok=422
    ),
    ("links.tracked_link_disable", "POST"): Route(
        "staff", values=tracked_link, data=lambda w: {}, ok=302
    ),
    ("links.tracked_link_enable", "POST"): Route(
        "staff", values=tracked_link, data=lambda w: {}, ok=302
    ),
    # Issue 11: outcomes.
    ("insights.index", "GET"): Route("staff"),
    ("insights.export", "GET"): Route("staff"),
    ("live.tiles", "GET"): Route("staff"),
    ("auth.account_time_zone", "POST"): Route(
        "staff", data=lambda w: {"time_zone": "Nowhere/Else"}, ok=422
    ),
    ("links.tracked_link_qr_svg", "GET"): Route("staff", values=tracked_link),
    ("links.tracked_link_qr_png", "GET"): Route("staff", values=tracked_link),
    ("links.tracked_links_batch_qr_zip", "GET"): Route(
        "staff", values=lambda w: {"batch_id": w.batch_id}
    ),
    ("links.tracked_links_selected", "POST"): Route("staff", data=lambda w: {}, ok=303),
    ("savedviews.save", "POST"): Route("staff", data=lambda w: {"page": "links"}, ok=303),
    ("savedviews.delete", "POST"): Route(
        "staff", values=lambda w: {"view_id": 987654}, data=lambda w: {}, ok=404
    ),
    ("live.delete_test_request_view", "POST"): Route(
        "admin", data=lambda w: {"scheduling_request_id": w.scheduling_request_id}, ok=404
    ),
    # -- admins only ---------------------------------------------------------------------------
    ("auth.users", "GET"): Route("admin"),
    ("auth.user_create", "POST"): Route("admin", data=lambda w: {}, ok=422),
    # Staff try to promote themselves: 403, and they stay staff (the snapshot checks it).
    ("auth.user_role", "POST"): Route(
        "admin", values=staff_user, data=lambda w: {"role": "admin"}, ok=302
    ),
    ("auth.user_active", "POST"): Route(
        "admin", values=staff_user, data=lambda w: {"active": "1"}, ok=302
    ),
    ("auth.user_clear_sign_in_pause", "POST"): Route(
        "admin", values=staff_user, data=lambda w: {}, ok=302
    ),
    ("auth.user_password", "GET"): Route("admin", values=staff_user),
    ("auth.user_password", "POST"): Route("admin", values=staff_user, data=lambda w: {}, ok=422),
    ("webhooks.settings", "GET"): Route("admin"),
    ("webhooks.send_test_notification", "POST"): Route("admin", data=lambda w: {}, ok=302),
    ("webhooks.event_log", "GET"): Route("admin"),
    ("webhooks.delivery_detail", "GET"): Route(
        "admin", values=lambda w: {"delivery_id": w.failed_delivery_id}
    ),
    ("webhooks.reprocess", "POST"): Route(
        "admin", values=lambda w: {"delivery_id": w.failed_delivery_id}, data=lambda w: {}, ok=302
    ),
    ("webhooks.reprocess_failed", "POST"): Route("admin", data=lambda w: {}, ok=302),
    # Erasing an invitee (issue 12 §5): admins only; a POST naming no request finds none.
    ("retention.confirm_erase", "GET"): Route(
        "admin", values=lambda w: {"request": w.scheduling_request_id, "recipient": 0}
    ),
    ("retention.erase_invitee", "POST"): Route("admin", data=lambda w: {}, ok=404),
    # The audit log (issue 12 §4): read-only, so only GET routes exist to classify.
    ("audit.audit_log", "GET"): Route("admin"),
    ("audit.audit_export", "GET"): Route("admin"),
    ("outbound.endpoints", "GET"): Route("admin"),
    ("outbound.endpoint_new", "GET"): Route("admin"),
    ("outbound.endpoint_new", "POST"): Route("admin", data=lambda w: {}, ok=422),
    ("outbound.endpoint_detail", "GET"): Route("admin", values=endpoint),
    ("outbound.endpoint_edit", "GET"): Route("admin", values=endpoint),
    ("outbound.endpoint_edit", "POST"): Route("admin", values=endpoint, data=lambda w: {}, ok=422),
    ("outbound.endpoint_enable", "POST"): Route(
        "admin", values=endpoint, data=lambda w: {}, ok=302
    ),
    ("outbound.endpoint_disable", "POST"): Route(
        "admin", values=endpoint, data=lambda w: {}, ok=302
    ),
    ("outbound.endpoint_delete", "POST"): Route(
        "admin", values=endpoint, data=lambda w: {}, ok=302
    ),
    ("outbound.endpoint_rotate", "POST"): Route("admin", values=endpoint, data=lambda w: {}),
    ("outbound.endpoint_test", "POST"): Route("admin", values=endpoint, data=lambda w: {}, ok=302),
    ("outbound.message_resend", "POST"): Route(
        "admin", values=endpoint_message, data=lambda w: {}, ok=302
    ),
    ("mail.preferences", "GET"): Route("staff", ok=302),  # opens the account page's section
    ("alerts.silence_details", "GET"): Route("admin"),
    ("mail.preferences", "POST"): Route("staff", data=lambda w: {}, ok=302),
    ("organisation.save", "POST"): Route(
        "admin", data=lambda w: {"contact_email": "not an address"}, ok=422
    ),
    # -- the JSON API (bearer tokens only) ----------------------------------------------------
    ("api.list_public_links", "GET"): Route("api"),
    ("api.create_public_link", "POST"): Route("api", data=lambda w: {}, ok=422),
    ("api.get_public_link", "GET"): Route("api", values=public_link),
    ("api.update_public_link", "PATCH"): Route("api", values=public_link, data=lambda w: {}),
    ("api.list_tracked_links", "GET"): Route("api"),
    ("api.create_tracked_link", "POST"): Route("api", data=lambda w: {}, ok=422),
    ("api.get_tracked_link", "GET"): Route("api", values=tracked_link),
    ("api.update_tracked_link", "PATCH"): Route("api", values=tracked_link, data=lambda w: {}),
    ("api.list_scheduling_requests", "GET"): Route("api"),
    ("api.get_scheduling_request", "GET"): Route(
        "api", values=lambda w: {"scheduling_request_id": w.scheduling_request_id}
    ),
    ("api.insights", "GET"): Route("api"),
    ("api.list_audit_events", "GET"): Route("api", staff_ok=403),  # admin tokens only
    # Admins' tokens only: staff tokens get 403.
    ("api.list_webhook_endpoints", "GET"): Route("api", staff_ok=403),
    ("api.create_webhook_endpoint", "POST"): Route("api", data=lambda w: {}, ok=422, staff_ok=403),
    ("api.get_webhook_endpoint", "GET"): Route("api", values=endpoint, staff_ok=403),
    ("api.update_webhook_endpoint", "PATCH"): Route(
        "api", values=endpoint, data=lambda w: {}, staff_ok=403
    ),
    ("api.delete_webhook_endpoint", "DELETE"): Route(
        "api", values=endpoint, data=lambda w: {}, ok=204, staff_ok=403
    ),
}


@dataclass
class Actor:
    client: FlaskClient
    token: str | None = None  # sent as a bearer token on /api/ requests
    token_everywhere: bool = False  # sent on every request (token holders without a session)

    def headers(self, path: str) -> dict[str, str]:
        headers = {"User-Agent": BROWSER}
        if self.token and (self.token_everywhere or path.startswith("/api/")):
            headers.update(bearer(self.token))
        return headers


def send(actor: Actor, method: str, path: str, route: Route, world: World):  # type: ignore[no-untyped-def]
    kwargs: dict[str, Any] = {"method": method, "headers": actor.headers(path)}
    if route.data is not None:
        if route.kind == "api":
            kwargs["json"] = route.data(world)
        else:
            kwargs["data"] = route.data(world)
    return actor.client.open(path, **kwargs)


def app_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def snapshot(app: Flask) -> str:
    """A digest of every row of every table: equal digests, nothing changed."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest.update(f"{table.name}:{[tuple(row) for row in rows]!r}".encode())
        db.session.remove()
    return digest.hexdigest()
