"""Issue 12 §4: link, API token and reprocessing actions write one audit entry each, with
the right actor, client address, target and changes (tests/audit/cases.py runs them)."""

from __future__ import annotations

import io

import pytest

from tests.audit.cases import ADMIN, STAFF, Ctx, check_case, expect, target
from tests.audit.outcome_cases import OUTCOME_CASES
from tests.audit.support import entries
from tests.audit.test_audit_account_actions import ACCOUNT_CASES
from tests.audit.test_audit_integration_actions import INTEGRATION_CASES
from tests.support.signin import bearer
from webapp.audit import actions
from webapp.models import ApiToken, PublicLink, TrackedLink


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
    assert response.status_code == 303  # to the batch's result page
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


LINK_CASES = [
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
    *OUTCOME_CASES,  # issue 11
]


@pytest.mark.parametrize("case", LINK_CASES, ids=lambda case: case.__name__)
def test_the_action_writes_one_entry(ctx, case):
    check_case(ctx, case)


def test_every_listed_staff_action_has_a_case():
    """The issue's list, less what other parts of issue 12 record with these same names
    (purges and erasures)."""
    recorded_elsewhere = {
        name for name in actions.ACTIONS if name.startswith(("retention.", "invitee."))
    }
    names_in_cases = {
        getattr(actions, attr)
        for case in ACCOUNT_CASES + LINK_CASES + INTEGRATION_CASES
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
