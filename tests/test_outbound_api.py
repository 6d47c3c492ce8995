"""/api/v1/webhook-endpoints: admin tokens only (staff 403, anonymous 401), the secret
shown once, validation errors naming the fields, and the SSRF guard."""

from __future__ import annotations

import base64
import socket

import pytest

from tests.support import factories
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User, WebhookEndpoint
from webapp.outbound import targets

PUBLIC_URL = "https://hooks.example.net/ats"


def token(app, email: str, role: str) -> dict[str, str]:
    with app.app_context():
        user = factories.make_user(email=email, role=role)
        value = issue_token(db.session.get(User, user.id), "t")
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def resolver(monkeypatch):
    """Public names resolve to a public documentation-free address; others as they are."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.net":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        if host == "rebind.example.net":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.fixture
def api(app, resolver):
    return app.test_client(), token(app, "admin@example.com", "admin")


def test_create_answers_201_with_the_secret_once(app, api):
    client, headers = api
    response = client.post(
        "/api/v1/webhook-endpoints",
        json={"url": PUBLIC_URL, "description": "ATS", "events": ["tracked_link.created"]},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) >= 24
    assert body["events"] == ["tracked_link.created"] and body["enabled"] is True
    assert body["kind"] == "webhook" and body["url"] == PUBLIC_URL
    endpoint_id = body["id"]
    # Never again: not in the item, the list, an update or the pages.
    for answer in (
        client.get(f"/api/v1/webhook-endpoints/{endpoint_id}", headers=headers),
        client.get("/api/v1/webhook-endpoints", headers=headers),
        client.patch(
            f"/api/v1/webhook-endpoints/{endpoint_id}", json={"enabled": False}, headers=headers
        ),
    ):
        assert answer.status_code == 200
        assert secret not in answer.get_data(as_text=True)
        assert "secret" not in (answer.get_json().get("items") or [answer.get_json()])[0]
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).secret == secret  # kept to sign


def test_defaults_patch_and_delete(api):
    client, headers = api
    created = client.post("/api/v1/webhook-endpoints", json={"url": PUBLIC_URL}, headers=headers)
    body = created.get_json()
    assert "tracked_link.clicked" not in body["events"]  # clicks are opt-in
    assert "scheduling_request.time_chosen" in body["events"]
    path = f"/api/v1/webhook-endpoints/{body['id']}"
    patched = client.patch(
        path, json={"events": ["tracked_link.clicked"], "description": "clicks"}, headers=headers
    )
    assert patched.get_json()["events"] == ["tracked_link.clicked"]
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {"url"}),
        ({"url": PUBLIC_URL, "events": []}, {"events"}),
        ({"url": PUBLIC_URL, "events": ["booking.made"]}, {"events"}),
        ({"url": PUBLIC_URL, "enabled": "yes"}, {"enabled"}),
        ({"url": PUBLIC_URL, "kind": "teams"}, {"kind"}),
        ({"url": "ftp://hooks.example.net/"}, {"url"}),
        ({"url": PUBLIC_URL, "colour": "red"}, {"colour"}),
    ],
)
def test_invalid_input_is_422_naming_the_fields(api, data, fields):
    client, headers = api
    response = client.post("/api/v1/webhook-endpoints", json=data, headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == fields


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/webhook-endpoints"),
        ("post", "/api/v1/webhook-endpoints"),
        ("get", "/api/v1/webhook-endpoints/1"),
        ("patch", "/api/v1/webhook-endpoints/1"),
        ("delete", "/api/v1/webhook-endpoints/1"),
    ],
)
def test_staff_tokens_get_403_and_anonymous_401(app, api, method, path):
    client, admin_headers = api
    client.post("/api/v1/webhook-endpoints", json={"url": PUBLIC_URL}, headers=admin_headers)
    staff = token(app, "staff@example.com", "staff")
    kwargs = {"json": {"url": PUBLIC_URL}} if method in ("post", "patch") else {}
    forbidden = getattr(client, method)(path, headers=staff, **kwargs)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["message"]
    assert getattr(client, method)(path, **kwargs).status_code == 401
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(WebhookEndpoint)) == 1


SSRF_TARGETS = [
    "http://127.0.0.1/hook",
    "http://10.1.2.3/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://localhost:8080/hook",  # a name that resolves to 127.0.0.1
    "http://192.168.0.10/hook",
    "http://100.100.100.200/",  # a cloud metadata address in the shared range
    "http://rebind.example.net/hook",  # one public and one loopback answer
]


@pytest.mark.parametrize("url", SSRF_TARGETS)
def test_internal_targets_are_refused_when_the_flag_is_off(url, resolver):
    with pytest.raises(targets.RefusedTarget):
        targets.check(url, allow_private=False, require_https=False)


@pytest.mark.parametrize("url", SSRF_TARGETS[:6])
def test_the_api_refuses_internal_targets(api, url):
    client, headers = api
    secure = url.replace("http://", "https://")
    response = client.post("/api/v1/webhook-endpoints", json={"url": secure}, headers=headers)
    assert response.status_code == 422
    assert "public addresses" in response.get_json()["error"]["fields"]["url"]


def test_the_flag_allows_private_targets(resolver):
    target = targets.check("http://127.0.0.1:9/x?a=1", allow_private=True, require_https=False)
    assert (target.addresses, target.port, target.path) == (("127.0.0.1",), 9, "/x?a=1")


def test_https_only_in_production(app_factory, resolver):
    production = app_factory(WEBAPP_SANDBOX=False)
    client = production.test_client()
    headers = token(production, "admin@example.com", "admin")
    plain = client.post(
        "/api/v1/webhook-endpoints", json={"url": "http://hooks.example.net/"}, headers=headers
    )
    assert plain.status_code == 422 and "https" in plain.get_json()["error"]["fields"]["url"]


def test_the_guard_runs_again_at_delivery(app_factory, resolver):
    """Saved while private targets were allowed, sent after the flag was turned off."""
    from webapp import outbox
    from webapp.models import OutboxMessage
    from webapp.outbound import service

    allowed = app_factory(WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    with allowed.app_context():
        endpoint_id = service.create_endpoint(None, {"url": "http://127.0.0.1:9/x"}).endpoint.id
        service.send_test_event(endpoint_id)
    strict = app_factory(WEBHOOK_ALLOW_PRIVATE_TARGETS=False, WEBAPP_SANDBOX=True)
    with strict.app_context():
        result = outbox.run_once()
        [row] = db.session.scalars(db.select(OutboxMessage)).all()
        assert result.failed == 1
        assert row.last_error.startswith("refused by the SSRF guard")
        assert row.last_status is None
