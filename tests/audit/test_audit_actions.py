"""Issue 12 §4: every staff action the issue lists writes one audit entry, with the right
actor, client address, target and changes, through the real pages, API and CLI."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.audit.support import Install, bearer, build_install, entries, sign_in
from tests.support import factories
from webapp.audit import actions
from webapp.audit.log import REDACTED
from webapp.extensions import db
from webapp.models import ApiToken, PublicLink, TrackedLink, User

ADMIN = "admin@example.com"
STAFF = "staff@example.com"
LOCAL = "127.0.0.1"


@dataclass
class Ctx:
    install: Install
    admin: Any  # signed-in admin client
    staff: Any  # signed-in staff client
    fresh: Callable[[], Any]  # a new, anonymous client
    runner: Any

    def one(self, model: type, **where: Any) -> Any:
        with self.install.app.app_context():
            row = db.session.execute(select(model).filter_by(**where)).scalar_one()
            db.session.expunge(row)
        return row


@pytest.fixture
def ctx(app) -> Ctx:
    install = build_install(app)
    return Ctx(
        install=install,
        admin=sign_in(app.test_client(), ADMIN),
        staff=sign_in(app.test_client(), STAFF),
        fresh=app.test_client,
        runner=app.test_cli_runner(),
    )


def expect(action, actor, target, changes, address=LOCAL):  # type: ignore[no-untyped-def]
    return {
        "action": action,
        "actor": actor,
        "address": address,
        "target": target,
        "changes": changes,
    }


def target(kind: str, ident: int | None, name: str | None) -> dict[str, Any]:
    return {"type": kind, "id": ident, "name": name}


# -- the cases: each performs one action for real and says what the entry must be ----------


def sign_in_ok(c: Ctx):  # type: ignore[no-untyped-def]
    sign_in(c.fresh(), STAFF)
    return expect(actions.SIGN_IN, STAFF, target("user", c.install.staff_id, STAFF), {})


def sign_in_wrong_password(c: Ctx):  # type: ignore[no-untyped-def]
    response = c.fresh().post("/login", data={"email": STAFF, "password": "not the password"})
    assert response.status_code == 422
    return expect(actions.SIGN_IN_FAILED, None, target("user", c.install.staff_id, STAFF), {})


def sign_in_unknown_account(c: Ctx):  # type: ignore[no-untyped-def]
    c.fresh().post("/login", data={"email": "Nobody@Example.com", "password": "whatever it is"})
    return expect(actions.SIGN_IN_FAILED, None, target("user", None, "nobody@example.com"), {})


def user_invited(c: Ctx):  # type: ignore[no-untyped-def]
    form = {"email": "new@example.com", "name": "New Person", "role": "staff"}
    form |= {"password": factories.PASSWORD, "password_confirm": factories.PASSWORD}
    assert c.admin.post("/users", data=form).status_code == 302
    user = c.one(User, email="new@example.com")
    changes = {
        "email": [None, "new@example.com"],
        "name": [None, "New Person"],
        "role": [None, "staff"],
        "active": [None, True],
    }
    return expect(actions.USER_CREATED, ADMIN, target("user", user.id, user.email), changes)


def user_created_by_cli(c: Ctx):  # type: ignore[no-untyped-def]
    result = c.runner.invoke(
        args=["create-user", "cli@example.com", "--admin", "--password-stdin"],
        input=factories.PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    user = c.one(User, email="cli@example.com")
    changes = {"email": [None, "cli@example.com"], "role": [None, "admin"], "active": [None, True]}
    return expect(
        actions.USER_CREATED, None, target("user", user.id, user.email), changes, address="cli"
    )


def role_changed(c: Ctx):  # type: ignore[no-untyped-def]
    c.admin.post(f"/users/{c.install.staff_id}/role", data={"role": "admin"})
    return expect(
        actions.USER_ROLE_CHANGED,
        ADMIN,
        target("user", c.install.staff_id, STAFF),
        {"role": ["staff", "admin"]},
    )


def deactivated(c: Ctx):  # type: ignore[no-untyped-def]
    c.admin.post(f"/users/{c.install.staff_id}/active", data={"active": "0"})
    return expect(
        actions.USER_DEACTIVATED,
        ADMIN,
        target("user", c.install.staff_id, STAFF),
        {"active": [True, False]},
    )


def reactivated(c: Ctx):  # type: ignore[no-untyped-def]
    c.admin.post(f"/users/{c.install.staff_id}/active", data={"active": "0"})
    c.admin.post(f"/users/{c.install.staff_id}/active", data={"active": "1"})
    return expect(
        actions.USER_REACTIVATED,
        ADMIN,
        target("user", c.install.staff_id, STAFF),
        {"active": [False, True]},
    )


def password_reset(c: Ctx):  # type: ignore[no-untyped-def]
    new = "a brand new passphrase"
    c.admin.post(
        f"/users/{c.install.staff_id}/password", data={"password": new, "password_confirm": new}
    )
    return expect(
        actions.USER_PASSWORD_RESET,
        ADMIN,
        target("user", c.install.staff_id, STAFF),
        {"password": [REDACTED, REDACTED]},
    )


def password_reset_by_cli(c: Ctx):  # type: ignore[no-untyped-def]
    result = c.runner.invoke(
        args=["set-password", STAFF, "--password-stdin"], input="a brand new passphrase\n"
    )
    assert result.exit_code == 0, result.output
    return expect(
        actions.USER_PASSWORD_RESET,
        None,
        target("user", c.install.staff_id, STAFF),
        {"password": [REDACTED, REDACTED]},
        address="cli",
    )


def own_password_changed(c: Ctx):  # type: ignore[no-untyped-def]
    new = "a brand new passphrase"
    form = {"current_password": factories.PASSWORD, "new_password": new}
    c.staff.post("/account/password", data=form | {"new_password_confirm": new})
    return expect(
        actions.USER_PASSWORD_CHANGED,
        STAFF,
        target("user", c.install.staff_id, STAFF),
        {"password": [REDACTED, REDACTED]},
    )


def public_link_created(c: Ctx):  # type: ignore[no-untyped-def]
    url = "https://app.cronofy.com/pls/NEWLINK1"
    c.staff.post("/public-links/new", data={"name": "Sales demo", "url": url})
    link = c.one(PublicLink, name="Sales demo")
    changes = {"name": [None, "Sales demo"], "url": [None, url], "active": [None, True]}
    return expect(
        actions.PUBLIC_LINK_CREATED, STAFF, target("public_link", link.id, "Sales demo"), changes
    )


def public_link_updated(c: Ctx):  # type: ignore[no-untyped-def]
    link = c.one(PublicLink, id=c.install.public_link_id)
    c.staff.post(f"/public-links/{link.id}/edit", data={"name": "Interviews EU", "url": link.url})
    return expect(
        actions.PUBLIC_LINK_UPDATED,
        STAFF,
        target("public_link", link.id, "Interviews EU"),
        {"name": ["Interviews", "Interviews EU"]},
    )


def public_link_updated_by_api(c: Ctx):  # type: ignore[no-untyped-def]
    link_id = c.install.public_link_id
    response = c.fresh().patch(
        f"/api/v1/public-links/{link_id}",
        json={"name": "Interviews (API)"},
        headers=bearer(c.install.admin_token),
    )
    assert response.status_code == 200, response.get_json()
    return expect(
        actions.PUBLIC_LINK_UPDATED,
        ADMIN,
        target("public_link", link_id, "Interviews (API)"),
        {"name": ["Interviews", "Interviews (API)"]},
    )


def public_link_deactivated(c: Ctx):  # type: ignore[no-untyped-def]
    c.staff.post(f"/public-links/{c.install.public_link_id}/deactivate")
    return expect(
        actions.PUBLIC_LINK_DEACTIVATED,
        STAFF,
        target("public_link", c.install.public_link_id, "Interviews"),
        {"active": [True, False]},
    )


def public_link_reactivated(c: Ctx):  # type: ignore[no-untyped-def]
    c.staff.post(f"/public-links/{c.install.public_link_id}/deactivate")
    c.admin.post(f"/public-links/{c.install.public_link_id}/reactivate")
    return expect(
        actions.PUBLIC_LINK_REACTIVATED,
        ADMIN,
        target("public_link", c.install.public_link_id, "Interviews"),
        {"active": [False, True]},
    )


def tracked_link_created(c: Ctx):  # type: ignore[no-untyped-def]
    form = {"public_link_id": str(c.install.public_link_id), "correlation_id": "cand-0100"}
    form |= {"label": "Grace Hopper", "utm_source": "email"}
    assert c.staff.post("/links/new", data=form).status_code == 302
    link = c.one(TrackedLink, correlation_id="cand-0100")
    changes = {
        "correlation_id": [None, "cand-0100"],
        "public_link_id": [None, c.install.public_link_id],
        "label": [None, "Grace Hopper"],
        "utm_source": [None, "email"],
    }
    return expect(
        actions.TRACKED_LINK_CREATED, STAFF, target("tracked_link", link.id, "cand-0100"), changes
    )


def tracked_link_created_by_api(c: Ctx):  # type: ignore[no-untyped-def]
    body = {"public_link_id": c.install.public_link_id, "correlation_id": "deal-7"}
    response = c.fresh().post(
        "/api/v1/tracked-links", json=body, headers=bearer(c.install.staff_token)
    )
    assert response.status_code == 201, response.get_json()
    link_id = response.get_json()["id"]
    changes = {
        "correlation_id": [None, "deal-7"],
        "public_link_id": [None, c.install.public_link_id],
    }
    return expect(
        actions.TRACKED_LINK_CREATED, STAFF, target("tracked_link", link_id, "deal-7"), changes
    )


def tracked_link_updated(c: Ctx):  # type: ignore[no-untyped-def]
    link_id = c.install.tracked_link_id
    response = c.fresh().patch(
        f"/api/v1/tracked-links/{link_id}",
        json={"label": "Ada Lovelace", "utm": {"utm_campaign": "spring"}},
        headers=bearer(c.install.staff_token),
    )
    assert response.status_code == 200, response.get_json()
    return expect(
        actions.TRACKED_LINK_UPDATED,
        STAFF,
        target("tracked_link", link_id, "cand-0042"),
        {"label": ["Ada", "Ada Lovelace"], "utm_campaign": [None, "spring"]},
    )


def tracked_link_disabled(c: Ctx):  # type: ignore[no-untyped-def]
    c.admin.post(f"/links/{c.install.tracked_link_id}/disable")
    return expect(
        actions.TRACKED_LINK_DISABLED,
        ADMIN,
        target("tracked_link", c.install.tracked_link_id, "cand-0042"),
        {"disabled": [False, True]},
    )


def tracked_link_enabled(c: Ctx):  # type: ignore[no-untyped-def]
    c.staff.post(f"/links/{c.install.tracked_link_id}/disable")
    c.staff.post(f"/links/{c.install.tracked_link_id}/enable")
    return expect(
        actions.TRACKED_LINK_ENABLED,
        STAFF,
        target("tracked_link", c.install.tracked_link_id, "cand-0042"),
        {"disabled": [True, False]},
    )


def bulk_imported(c: Ctx):  # type: ignore[no-untyped-def]
    csv = b"correlation_id,label\r\nbulk-1,One\r\nbulk-2,Two\r\n"
    response = c.staff.post(
        "/links/bulk",
        data={"public_link_id": str(c.install.public_link_id), "file": (io.BytesIO(csv), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    made = entries(c.install.app, actions.TRACKED_LINK_BULK_IMPORTED)
    assert [entry["target"]["name"] for entry in made] == ["bulk-1", "bulk-2"]
    link = c.one(TrackedLink, correlation_id="bulk-2")
    changes = {
        "correlation_id": [None, "bulk-2"],
        "public_link_id": [None, c.install.public_link_id],
        "label": [None, "Two"],
    }
    return expect(
        actions.TRACKED_LINK_BULK_IMPORTED,
        STAFF,
        target("tracked_link", link.id, "bulk-2"),
        changes,
    )


def token_created(c: Ctx):  # type: ignore[no-untyped-def]
    c.staff.post("/tokens", data={"name": "CRM sync"})
    row = c.one(ApiToken, name="CRM sync")
    changes = {"user": [None, STAFF], "name": [None, "CRM sync"], "prefix": [None, row.prefix]}
    return expect(
        actions.API_TOKEN_CREATED, STAFF, target("api_token", row.id, "CRM sync"), changes
    )


def token_created_by_cli(c: Ctx):  # type: ignore[no-untyped-def]
    result = c.runner.invoke(args=["create-api-token", ADMIN, "--name", "Nightly export"])
    assert result.exit_code == 0
    row = c.one(ApiToken, name="Nightly export")
    changes = {
        "user": [None, ADMIN],
        "name": [None, "Nightly export"],
        "prefix": [None, row.prefix],
    }
    return expect(
        actions.API_TOKEN_CREATED,
        None,
        target("api_token", row.id, "Nightly export"),
        changes,
        address="cli",
    )


def token_revoked(c: Ctx):  # type: ignore[no-untyped-def]
    row = c.one(ApiToken, name="audit staff")
    c.staff.post(f"/tokens/{row.id}/revoke")
    revoked = c.one(ApiToken, id=row.id)
    at = revoked.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return expect(
        actions.API_TOKEN_REVOKED,
        STAFF,
        target("api_token", row.id, "audit staff"),
        {"revoked_at": [None, at]},
    )


def reprocessed(c: Ctx):  # type: ignore[no-untyped-def]
    delivery_id = c.install.failed_delivery_id
    c.admin.post(f"/events/{delivery_id}/reprocess")
    return expect(
        actions.DELIVERY_REPROCESSED,
        ADMIN,
        target("delivery", delivery_id, f"delivery {delivery_id}"),
        {"outcome": "failed"},
    )


def reprocessed_all_failed(c: Ctx):  # type: ignore[no-untyped-def]
    c.admin.post("/events/reprocess-failed")
    return expect(
        actions.DELIVERY_REPROCESSED,
        ADMIN,
        target("delivery", None, "every failed delivery"),
        {"outcome": {"failed": 1}},
    )


def reprocessed_by_cli(c: Ctx):  # type: ignore[no-untyped-def]
    delivery_id = c.install.failed_delivery_id
    result = c.runner.invoke(args=["deliveries", "reprocess", "--id", str(delivery_id)])
    assert result.exit_code == 0, result.output
    return expect(
        actions.DELIVERY_REPROCESSED,
        None,
        target("delivery", delivery_id, f"delivery {delivery_id}"),
        {"outcome": "failed"},
        address="cli",
    )


CASES = [
    sign_in_ok,
    sign_in_wrong_password,
    sign_in_unknown_account,
    user_invited,
    user_created_by_cli,
    role_changed,
    deactivated,
    reactivated,
    password_reset,
    password_reset_by_cli,
    own_password_changed,
    public_link_created,
    public_link_updated,
    public_link_updated_by_api,
    public_link_deactivated,
    public_link_reactivated,
    tracked_link_created,
    tracked_link_created_by_api,
    tracked_link_updated,
    tracked_link_disabled,
    tracked_link_enabled,
    bulk_imported,
    token_created,
    token_created_by_cli,
    token_revoked,
    reprocessed,
    reprocessed_all_failed,
    reprocessed_by_cli,
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_the_action_writes_one_entry(ctx, case):
    before = {entry["id"] for entry in entries(ctx.install.app)}
    wanted = case(ctx)
    new = [entry for entry in entries(ctx.install.app) if entry["id"] not in before]
    mine = [entry for entry in new if entry["action"] == wanted["action"]]
    assert mine, f"no {wanted['action']} entry; new entries: {new}"
    entry = mine[-1]
    assert {key: entry[key] for key in wanted} == wanted
    assert entry["at"].endswith("Z") and isinstance(entry["id"], int)


def test_every_listed_staff_action_has_a_case():
    """The issue's list, less what other parts of issue 12 record with these same names
    (webhook endpoints, settings forms, purges and erasures)."""
    recorded_elsewhere = {
        name
        for name in actions.ACTIONS
        if name.startswith(("webhook_endpoint.", "settings.", "retention.", "invitee."))
    }
    names_in_cases = {
        getattr(actions, attr)
        for case in CASES
        for attr in case.__code__.co_names
        if isinstance(getattr(actions, attr, None), str)
    }
    assert set(actions.ACTIONS) - recorded_elsewhere - names_in_cases == set()


def test_unchanged_edits_and_repeated_states_write_nothing(ctx):
    """Saving a form unchanged, revoking twice or reactivating an active user is no action."""
    link = ctx.one(PublicLink, id=ctx.install.public_link_id)
    ctx.staff.post(f"/public-links/{link.id}/edit", data={"name": link.name, "url": link.url})
    ctx.admin.post(f"/users/{ctx.install.staff_id}/active", data={"active": "1"})
    ctx.admin.post(f"/users/{ctx.install.staff_id}/role", data={"role": "staff"})
    ctx.staff.post(f"/links/{ctx.install.tracked_link_id}/enable")
    assert [e["action"] for e in entries(ctx.install.app) if e["action"] != "auth.sign_in"] == []


def test_a_typed_password_in_the_email_field_is_not_kept(ctx):
    ctx.fresh().post("/login", data={"email": "hunter2 secret", "password": "whatever it is"})
    (entry,) = entries(ctx.install.app, actions.SIGN_IN_FAILED)
    assert entry["target"] == {"type": "user", "id": None, "name": "(not an email address)"}


def test_first_admin_from_setup_is_their_own_actor(app_factory):
    app = app_factory()
    client = app.test_client()
    form = {"email": "first@example.com", "name": "First", "password": factories.PASSWORD}
    response = client.post("/setup", data=form | {"password_confirm": factories.PASSWORD})
    assert response.status_code == 302
    (entry,) = entries(app, actions.USER_CREATED)
    assert entry["actor"] == "first@example.com" and entry["address"] == LOCAL
    assert entry["changes"]["role"] == [None, "admin"]


def test_the_address_is_the_client_behind_a_trusted_proxy(app_factory):
    app = app_factory(TRUSTED_PROXIES=1)
    build_install(app)
    client = app.test_client()
    client.post(
        "/login",
        data={"email": STAFF, "password": factories.PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    (entry,) = entries(app, actions.SIGN_IN)
    assert entry["address"] == "203.0.113.9"
