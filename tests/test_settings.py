"""The admin settings page, and the signed sample behind "Send a test notification"."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.support.deliveries import notification_body, post_signed
from tests.support.factories import PASSWORD
from tests.support.server import free_port
from webapp.webhooks.payload import parse
from webapp.webhooks.sample import build_sample, send_sample
from webapp.webhooks.signatures import is_authentic


def test_admin_only(client, staff_client):
    assert staff_client.get("/settings").status_code == 403
    assert staff_client.post("/settings/test-notification").status_code == 403


def test_shows_the_receiver_url_and_the_instruction(admin_client):
    page = admin_client.get("/settings").get_data(as_text=True)
    assert page.count("<h1") == 1
    assert "http://localhost/webhooks/cronofy" in page
    assert 'data-copy="http://localhost/webhooks/cronofy"' in page
    assert "Embed webhook callback URL" in page
    assert "PUBLIC_BASE_URL" in page


def test_public_base_url_is_used_for_the_receiver_url(app_factory, admin):
    app = app_factory(PUBLIC_BASE_URL="https://links.example.com/")
    client = app.test_client()  # TRUSTED_HOSTS is links.example.com alone: ask for it by name
    base = {"base_url": "https://links.example.com"}
    client.post("/login", data={"email": admin.email, "password": PASSWORD}, **base)
    page = client.get("/settings", **base).get_data(as_text=True)
    assert "https://links.example.com/webhooks/cronofy" in page


def test_never_shows_a_secret(app, admin_client):
    page = admin_client.get("/settings").get_data(as_text=True)
    assert app.config["CRONOFY_SCHEDULER_EMBED_SECRET"] not in page
    assert app.config["CRONOFY_CLIENT_SECRET"] not in page
    for secret in app.config["CLIENT_SECRETS"]:
        assert secret not in page
    assert app.config["CRONOFY_SCHEDULER_EMBED_PUBLIC_KEY"] in page
    assert "1 configured" in page
    assert "Cronofy itself" in page and "a simulated Cronofy" not in page


def test_several_client_secrets_are_counted_not_shown(app_factory, admin):
    app = app_factory(CRONOFY_CLIENT_SECRET="CRN_first_one_abc,CRN_second_one_def")
    client = app.test_client()
    client.post("/login", data={"email": admin.email, "password": PASSWORD})
    page = client.get("/settings").get_data(as_text=True)
    assert "2 configured" in page
    assert "CRN_first_one_abc" not in page and "CRN_second_one_def" not in page


def test_warns_when_no_client_secret_is_configured(app_factory, admin):
    app = app_factory(CRONOFY_CLIENT_SECRET="", CRONOFY_SCHEDULER_EMBED_SECRET="")
    client = app.test_client()
    client.post("/login", data={"email": admin.email, "password": PASSWORD})
    page = client.get("/settings").get_data(as_text=True)
    assert "No Cronofy client secret is configured" in page
    assert "503" in page
    assert "tracked links cannot mint claim tokens" in page
    response = client.post("/settings/test-notification", follow_redirects=True)
    assert "Nothing sent." in response.get_data(as_text=True)


def test_sandbox_mode_is_shown(app_factory, admin):
    app = app_factory(WEBAPP_SANDBOX=True)
    client = app.test_client()
    client.post("/login", data={"email": admin.email, "password": PASSWORD})
    page = client.get("/settings").get_data(as_text=True)
    assert "a simulated Cronofy runs inside this app" in page


def test_last_authentic_delivery(admin_client):
    assert "None yet" in admin_client.get("/settings").get_data(as_text=True)
    post_signed(admin_client, notification_body())
    page = admin_client.get("/settings").get_data(as_text=True)
    assert "None yet" not in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", page)


def test_unreachable_receiver_is_reported_with_the_threading_hint(app_factory, admin):
    app = app_factory(PUBLIC_BASE_URL=f"http://127.0.0.1:{free_port()}")
    client = app.test_client()
    client.post("/login", data={"email": admin.email, "password": PASSWORD})
    page = client.post("/settings/test-notification", follow_redirects=True).get_data(as_text=True)
    assert "Could not reach the receiver" in page
    assert "two requests at once" in page


def test_sample_is_signed_with_every_secret_and_reads_as_time_chosen():
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    sample = build_sample(["CRN_a", "CRN_b"], now=now)
    # One value per secret, joined with "," and no space, as Cronofy sends them.
    assert len(sample.signature.split(",")) == 2 and " " not in sample.signature
    assert is_authentic(sample.body, sample.signature.replace(",", ", "), ["CRN_b"])
    assert is_authentic(sample.body, sample.signature, ["CRN_b"])
    assert is_authentic(sample.body, sample.signature, ["CRN_a"])
    notification = parse(sample.body)
    assert notification.type == "scheduling_request_time_chosen"
    assert notification.triggered_at == now
    assert notification.scheduling_request_id == sample.scheduling_request_id
    assert sample.scheduling_request_id.startswith("srq_test_")
    assert notification.correlation_id == sample.correlation_id
    assert sample.correlation_id.startswith("test-")
    assert build_sample(["CRN_a"], now=now).body != sample.body  # fresh ids each time


def test_send_sample_refuses_other_schemes():
    sample = build_sample(["CRN_a"], now=datetime.now(UTC))
    result = send_sample("file:///etc/passwd", sample)
    assert result.status_code is None and not result.ok and result.seconds == 0
    assert "not an http(s) URL" in result.error
