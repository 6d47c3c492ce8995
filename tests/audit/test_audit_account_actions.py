"""Issue 12 §4: sign-ins and account actions write one audit entry each, with the right
actor, client address, target and changes (tests/audit/cases.py runs them)."""

from __future__ import annotations

import pytest

from tests.audit.cases import ADMIN, LOCAL, STAFF, Ctx, check_case, expect, target
from tests.audit.support import build_install, entries
from tests.support import factories
from tests.support.signin import sign_in
from webapp.audit import actions
from webapp.audit.log import REDACTED
from webapp.models import User


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


def sign_in_pause_cleared(c: Ctx):  # type: ignore[no-untyped-def]
    for _ in range(2):
        c.fresh().post("/login", data={"email": STAFF, "password": "not the password"})
    response = c.admin.post(f"/users/{c.install.staff_id}/sign-in-pause")
    assert response.status_code == 302
    return expect(
        actions.USER_SIGN_IN_PAUSE_CLEARED,
        ADMIN,
        target("user", c.install.staff_id, STAFF),
        {"failed_sign_ins": ["2", "0"]},
    )


ACCOUNT_CASES = [
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
    sign_in_pause_cleared,
]


@pytest.mark.parametrize("case", ACCOUNT_CASES, ids=lambda case: case.__name__)
def test_the_action_writes_one_entry(ctx, case):
    check_case(ctx, case)


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
