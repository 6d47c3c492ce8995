"""/settings/webhooks through the test client: the secret shown once, editing, the
delivery log with resend, test events, disable/enable, delete with confirmation, the banner."""

from __future__ import annotations

import re

import pytest

from tests.support.capture import CaptureServer
from webapp import outbox
from webapp.extensions import db
from webapp.models import OutboxMessage, WebhookEndpoint


@pytest.fixture
def hooks_app(app_factory):
    return app_factory(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)


@pytest.fixture
def admin_page(hooks_app, auth):
    from tests.support import factories

    with hooks_app.app_context():
        factories.make_user(email="admin@example.com", role="admin")
    client = hooks_app.test_client()
    client.post("/login", data={"email": "admin@example.com", "password": factories.PASSWORD})
    return client


@pytest.fixture
def receiver():
    with CaptureServer() as server:
        yield server


def create(client, url: str, **extra):
    data = {"url": url, "description": "Greenhouse", "events": ["tracked_link.created"], **extra}
    return client.post("/settings/webhooks/new", data=data)


def test_the_empty_list_explains_and_links_to_the_form(admin_page):
    page = admin_page.get("/settings/webhooks").get_data(as_text=True)
    assert "No endpoints yet" in page and "/settings/webhooks/new" in page


def test_creating_shows_the_secret_once(hooks_app, admin_page, receiver):
    answer = create(admin_page, receiver.url)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    secret = re.search(r'id="new-secret">(whsec_[^<]+)<', page).group(1)
    assert "will not be shown again" in page
    with hooks_app.app_context():
        endpoint = db.session.scalars(db.select(WebhookEndpoint)).one()
        assert endpoint.secret == secret
    for path in ("/settings/webhooks", f"/settings/webhooks/{endpoint.id}"):
        shown = admin_page.get(path).get_data(as_text=True)
        assert secret not in shown and "Greenhouse" in shown


def test_invalid_forms_are_422_with_the_values_kept(admin_page):
    answer = admin_page.post(
        "/settings/webhooks/new", data={"url": "ftp://example.com/x", "description": "keep me"}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "must start with https://" in page and "choose at least one event" in page
    assert "keep me" in page


def test_test_event_log_and_resend(hooks_app, admin_page, receiver):
    create(admin_page, receiver.url)
    with hooks_app.app_context():
        endpoint_id = db.session.scalars(db.select(WebhookEndpoint.id)).one()
    assert admin_page.post(f"/settings/webhooks/{endpoint_id}/test").status_code == 302
    outbox.drain(hooks_app)
    assert receiver.requests[0].json()["type"] == "webhook.test"
    page = admin_page.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "webhook.test" in page and "Resend" in page and "ms</td>" in page
    assert '{"received": true}' in page.replace("&#34;", '"')
    with hooks_app.app_context():
        message_pk = db.session.scalars(db.select(OutboxMessage.id)).one()
    resend = admin_page.post(f"/settings/webhooks/{endpoint_id}/messages/{message_pk}/resend")
    assert resend.status_code == 302
    outbox.drain(hooks_app)
    assert len(receiver.requests) == 2
    assert (
        admin_page.post(f"/settings/webhooks/{endpoint_id}/messages/999/resend").status_code == 404
    )


def test_disable_enable_and_delete_with_confirmation(hooks_app, admin_page, receiver):
    create(admin_page, receiver.url)
    with hooks_app.app_context():
        endpoint_id = db.session.scalars(db.select(WebhookEndpoint.id)).one()
    page = admin_page.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert 'data-confirm="Delete this endpoint' in page
    admin_page.post(f"/settings/webhooks/{endpoint_id}/disable")
    page = admin_page.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)
    assert f'action="/settings/webhooks/{endpoint_id}/enable"' in page and ">Disabled<" in page
    admin_page.post(f"/settings/webhooks/{endpoint_id}/enable")
    assert admin_page.post(f"/settings/webhooks/{endpoint_id}/delete").status_code == 302
    assert admin_page.get(f"/settings/webhooks/{endpoint_id}").status_code == 404


def test_rotating_shows_the_new_secret_once(hooks_app, admin_page, receiver):
    create(admin_page, receiver.url)
    with hooks_app.app_context():
        endpoint_id = db.session.scalars(db.select(WebhookEndpoint.id)).one()
    page = admin_page.post(f"/settings/webhooks/{endpoint_id}/rotate").get_data(as_text=True)
    assert "old one keeps signing" in page or "old secret" in page
    assert "Rotating:" in admin_page.get(f"/settings/webhooks/{endpoint_id}").get_data(as_text=True)


def test_the_banner_partial_warns_admins_of_a_disabled_endpoint(hooks_app, admin_page, receiver):
    from flask import render_template

    create(admin_page, receiver.url)
    with hooks_app.app_context():
        endpoint = db.session.scalars(db.select(WebhookEndpoint)).one()
        endpoint.enabled, endpoint.disabled_reason = False, "failing"
        db.session.commit()
    with hooks_app.test_request_context():
        from flask_login import login_user

        from webapp.models import User

        admin = db.session.scalars(db.select(User)).one()
        assert render_template("outbound/_banner.html").strip() == ""  # anonymous: nothing
        login_user(admin)
        banner = render_template("outbound/_banner.html")
    assert "Webhook endpoint disabled:" in banner and "Greenhouse" in banner
