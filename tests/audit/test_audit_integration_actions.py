"""Issue 12 §4: webhook endpoint actions (from the pages, the API and the system) and the
organisation settings write one audit entry each, in the transaction of the change, never
with a secret in it (tests/audit/cases.py runs them)."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import event, func, select

from tests.audit.cases import ADMIN, Ctx, check_case, expect, target
from tests.audit.support import build_install, count, entries
from tests.support.signin import bearer, sign_in
from webapp.audit import actions
from webapp.audit.log import REDACTED
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import WebhookEndpoint, utcnow
from webapp.outbound import health, service

HOOK_URL = "http://127.0.0.1:9/hooks/ats"  # never reached: these tests send nothing
SLACK_URL = "http://127.0.0.1:9/services/T0001/B0001/slack-credential-part"
SLACK_SHOWN = "http://127.0.0.1:9/services/…"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"></svg>'


@pytest.fixture
def app(app_factory):
    """Endpoints on the loopback address, as the other outbound tests have them."""
    return app_factory(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)


def an_endpoint(c: Ctx, **data) -> int:  # type: ignore[no-untyped-def]
    """An endpoint made through the service (its own created entry is not the case's)."""
    values = {"url": HOOK_URL, "description": "Greenhouse", "events": ["tracked_link.created"]}
    with c.install.app.app_context():
        return service.create_endpoint(None, values | data).endpoint.id


def endpoint_target(endpoint_id: int, name: str = "Greenhouse") -> dict:
    return target("webhook_endpoint", endpoint_id, name)


# -- webhook endpoints -----------------------------------------------------------------


def endpoint_created(c: Ctx):  # type: ignore[no-untyped-def]
    form = {"url": HOOK_URL, "description": "Greenhouse", "events": ["tracked_link.created"]}
    page = c.admin.post("/settings/webhooks/new", data=form).get_data(as_text=True)
    assert "whsec_" in page  # the secret is shown once, on the page, not in the log
    endpoint = c.one(WebhookEndpoint, description="Greenhouse")
    changes = {
        "kind": [None, "webhook"],
        "url": [None, HOOK_URL],
        "description": [None, "Greenhouse"],
        "events": [None, ["tracked_link.created"]],
        "enabled": [None, True],
    }
    return expect(actions.WEBHOOK_ENDPOINT_CREATED, ADMIN, endpoint_target(endpoint.id), changes)


def slack_endpoint_created_by_api(c: Ctx):  # type: ignore[no-untyped-def]
    body = {"kind": "slack", "url": SLACK_URL, "events": ["scheduling_request.time_chosen"]}
    response = c.fresh().post(
        "/api/v1/webhook-endpoints", json=body, headers=bearer(c.install.admin_token)
    )
    assert response.status_code == 201, response.get_json()
    endpoint_id = response.get_json()["id"]
    changes = {
        "kind": [None, "slack"],
        "url": [None, SLACK_SHOWN],  # a Slack URL is a credential: recorded masked
        "events": [None, ["scheduling_request.time_chosen"]],
        "enabled": [None, True],
    }
    return expect(
        actions.WEBHOOK_ENDPOINT_CREATED,
        ADMIN,
        endpoint_target(endpoint_id, SLACK_SHOWN),
        changes,
    )


def endpoint_updated(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c)
    form = {
        "url": HOOK_URL,
        "description": "Greenhouse ATS",
        "events": ["tracked_link.created", "scheduling_request.time_chosen"],
    }
    response = c.admin.post(f"/settings/webhooks/{endpoint_id}/edit", data=form)
    assert response.status_code == 302
    changes = {
        "description": ["Greenhouse", "Greenhouse ATS"],
        "events": [
            ["tracked_link.created"],
            ["scheduling_request.time_chosen", "tracked_link.created"],
        ],
    }
    return expect(
        actions.WEBHOOK_ENDPOINT_UPDATED,
        ADMIN,
        endpoint_target(endpoint_id, "Greenhouse ATS"),
        changes,
    )


def slack_url_updated_by_api(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c, kind="slack", url=SLACK_URL)
    response = c.fresh().patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        json={"url": SLACK_URL.replace("slack-credential-part", "another-credential")},
        headers=bearer(c.install.admin_token),
    )
    assert response.status_code == 200, response.get_json()
    return expect(
        actions.WEBHOOK_ENDPOINT_UPDATED,
        ADMIN,
        endpoint_target(endpoint_id),
        {"url": [REDACTED, REDACTED]},  # that it changed, never either value
    )


def endpoint_disabled(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c)
    assert c.admin.post(f"/settings/webhooks/{endpoint_id}/disable").status_code == 302
    return expect(
        actions.WEBHOOK_ENDPOINT_DISABLED,
        ADMIN,
        endpoint_target(endpoint_id),
        {"enabled": [True, False], "reason": "admin"},
    )


def endpoint_enabled(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c, enabled=False)
    assert c.admin.post(f"/settings/webhooks/{endpoint_id}/enable").status_code == 302
    return expect(
        actions.WEBHOOK_ENDPOINT_ENABLED,
        ADMIN,
        endpoint_target(endpoint_id),
        {"enabled": [False, True]},
    )


def endpoint_disabled_by_api(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c)
    response = c.fresh().patch(
        f"/api/v1/webhook-endpoints/{endpoint_id}",
        json={"enabled": False},
        headers=bearer(c.install.admin_token),
    )
    assert response.status_code == 200
    return expect(
        actions.WEBHOOK_ENDPOINT_DISABLED,
        ADMIN,
        endpoint_target(endpoint_id),
        {"enabled": [True, False], "reason": "admin"},
    )


def endpoint_disabled_by_the_system(c: Ctx):  # type: ignore[no-untyped-def]
    """After 24 hours of failures (webapp/outbound/health.py), in the outbox's transaction."""
    endpoint_id = an_endpoint(c)
    with c.install.app.app_context(), write_transaction():
        health.disable_for_failing(db.session.get(WebhookEndpoint, endpoint_id), utcnow())
    return expect(
        actions.WEBHOOK_ENDPOINT_DISABLED,
        None,
        endpoint_target(endpoint_id),
        {"enabled": [True, False], "reason": "failing"},
        address="cli",
    )


def secret_rotated(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c)
    page = c.admin.post(f"/settings/webhooks/{endpoint_id}/rotate").get_data(as_text=True)
    assert "whsec_" in page
    return expect(
        actions.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        ADMIN,
        endpoint_target(endpoint_id),
        {"secret": [REDACTED, REDACTED]},
    )


def endpoint_deleted(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c)
    assert c.admin.post(f"/settings/webhooks/{endpoint_id}/delete").status_code == 302
    changes = {
        "kind": ["webhook", None],
        "url": [HOOK_URL, None],
        "description": ["Greenhouse", None],
        "events": [["tracked_link.created"], None],
        "enabled": [True, None],
    }
    return expect(actions.WEBHOOK_ENDPOINT_DELETED, ADMIN, endpoint_target(endpoint_id), changes)


def endpoint_deleted_by_api(c: Ctx):  # type: ignore[no-untyped-def]
    endpoint_id = an_endpoint(c, description="")
    response = c.fresh().delete(
        f"/api/v1/webhook-endpoints/{endpoint_id}", headers=bearer(c.install.admin_token)
    )
    assert response.status_code == 204
    entry = expect(
        actions.WEBHOOK_ENDPOINT_DELETED, ADMIN, endpoint_target(endpoint_id, HOOK_URL), {}
    )
    del entry["changes"]  # checked in full by endpoint_deleted
    return entry


# -- the organisation profile (the settings page's form) --------------------------------


def settings_updated(c: Ctx):  # type: ignore[no-untyped-def]
    data = {
        "name": "Acme Recruiting",
        "contact_email": "Talent@Acme.example",
        "logo_url": "",
        "logo_file": (io.BytesIO(SVG), "logo.svg"),
    }
    response = c.admin.post("/settings/organisation", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    changes = {
        "name": ["", "Acme Recruiting"],
        "contact_email": ["", "talent@acme.example"],
        "logo_upload": [None, f"image/svg+xml, {len(SVG)} bytes"],
    }
    return expect(
        actions.SETTINGS_UPDATED, ADMIN, target("settings", 1, "Organisation profile"), changes
    )


def settings_logo_by_address(c: Ctx):  # type: ignore[no-untyped-def]
    settings_updated(c)
    data = {"name": "Acme Recruiting", "contact_email": "talent@acme.example"}
    data["logo_url"] = "https://cdn.acme.example/logo.png"
    c.admin.post("/settings/organisation", data=data)
    changes = {
        "logo_url": [None, "https://cdn.acme.example/logo.png"],
        "logo_upload": [f"image/svg+xml, {len(SVG)} bytes", None],
    }
    return expect(
        actions.SETTINGS_UPDATED, ADMIN, target("settings", 1, "Organisation profile"), changes
    )


INTEGRATION_CASES = [
    endpoint_created,
    slack_endpoint_created_by_api,
    endpoint_updated,
    slack_url_updated_by_api,
    endpoint_disabled,
    endpoint_enabled,
    endpoint_disabled_by_api,
    endpoint_disabled_by_the_system,
    secret_rotated,
    endpoint_deleted,
    endpoint_deleted_by_api,
    settings_updated,
    settings_logo_by_address,
]


@pytest.mark.parametrize("case", INTEGRATION_CASES, ids=lambda case: case.__name__)
def test_the_action_writes_one_entry(ctx, case):
    check_case(ctx, case)


def test_no_secret_reaches_the_log(ctx):
    """Creating and rotating show a whsec_ secret once; a Slack URL is its own credential."""
    form = {"url": HOOK_URL, "description": "Greenhouse", "events": ["tracked_link.created"]}
    page = ctx.admin.post("/settings/webhooks/new", data=form).get_data(as_text=True)
    shown = re.findall(r"whsec_[A-Za-z0-9+/=]+", page)
    endpoint_id = ctx.one(WebhookEndpoint, description="Greenhouse").id
    page = ctx.admin.post(f"/settings/webhooks/{endpoint_id}/rotate").get_data(as_text=True)
    shown += re.findall(r"whsec_[A-Za-z0-9+/=]+", page)
    ctx.fresh().post(
        "/api/v1/webhook-endpoints",
        json={"kind": "slack", "url": SLACK_URL},
        headers=bearer(ctx.install.admin_token),
    )
    assert len(set(shown)) == 2
    logged = json.dumps(entries(ctx.install.app))
    export = ctx.admin.get("/audit/export.csv").get_data(as_text=True)
    audit_page = ctx.admin.get("/audit").get_data(as_text=True)
    for text in (logged, export, audit_page):
        assert "whsec_" not in text and "slack-credential-part" not in text
    assert "webhook_endpoint.secret_rotated" in logged  # the entries are there all the same


def test_unchanged_endpoint_edits_and_repeated_switches_write_nothing(ctx):
    endpoint_id = an_endpoint(ctx)
    before = count(ctx.install.app)
    form = {"url": HOOK_URL, "description": "Greenhouse", "events": ["tracked_link.created"]}
    ctx.admin.post(f"/settings/webhooks/{endpoint_id}/edit", data=form)
    ctx.admin.post(f"/settings/webhooks/{endpoint_id}/enable")  # already enabled
    data = {"name": "", "contact_email": "", "logo_url": ""}
    ctx.admin.post("/settings/organisation", data=data)  # the empty profile, saved as it is
    assert count(ctx.install.app) == before


def test_a_failed_commit_takes_the_endpoint_and_its_entry_with_it(app):
    install = build_install(app)

    class Boom(RuntimeError):
        pass

    def fail(_session):  # type: ignore[no-untyped-def]
        raise Boom("the database went away at commit")

    values = {"url": HOOK_URL, "description": "Lost", "events": ["tracked_link.created"]}
    with app.app_context():
        event.listen(db.session, "before_commit", fail)
        try:
            with pytest.raises(Boom):
                service.create_endpoint(None, values)
        finally:
            event.remove(db.session, "before_commit", fail)
        db.session.remove()
        assert db.session.execute(select(func.count(WebhookEndpoint.id))).scalar_one() == 0
    assert count(app) == 0
    with app.app_context():  # the same call without the failure: both commit
        service.create_endpoint(None, values | {"description": "Kept"})
    assert [entry["target"]["name"] for entry in entries(app)] == ["Kept"]
    assert install.admin_id  # the install's own entries were cleared before the test


def test_the_audit_page_filters_webhook_actions(ctx):
    check_case(ctx, endpoint_created)
    admin = sign_in(ctx.fresh(), ADMIN)
    page = admin.get("/audit?action=webhook_endpoint.*").get_data(as_text=True)
    assert "Webhook endpoint created" in page and ">Greenhouse</strong>" in page
    assert '<span class="cell-title">Signed in</span>' not in page  # the sign-in entry
