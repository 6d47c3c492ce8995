"""Issue 9 §9: nothing a signed-in person sees is cached, and other sites cannot post.

Every staff route of the authorisation matrix (pages, exports, the JSON API), answered to a
signed-in admin, carries `Cache-Control: no-store`. A state-changing request whose `Origin`
names another site is refused with 403 (the JSON error shape under /api/), over http too;
the same origin and no Origin at all pass.
"""

from __future__ import annotations

import pytest
from flask import url_for

from tests.support.routes import ROUTES, send
from tests.support.routes import Actor as MatrixActor
from tests.support.signin import bearer, sign_in
from webapp.extensions import db
from webapp.models import PublicLink

SIGNED_IN_KINDS = ("staff", "admin", "api")
CACHEABLE = {("organisation.logo", "GET")}  # the public logo chooses its own caching


def test_every_signed_in_answer_is_no_store(world):
    admin = MatrixActor(sign_in(world.app.test_client(), "admin@example.com"), world.admin_token)
    checked, missing = 0, []
    for (endpoint, method), route in sorted(ROUTES.items()):
        if route.kind not in SIGNED_IN_KINDS:
            continue
        with world.app.test_request_context():
            path = url_for(endpoint, **route.values(world))
        response = send(admin, method, path, route, world)
        try:
            if response.headers.get("Cache-Control") != "no-store":
                missing.append(f"{method} {path} -> {response.headers.get('Cache-Control')}")
        finally:
            response.close()
        checked += 1
    assert checked > 60
    assert not missing, missing


def test_public_pages_and_errors_are_no_store_too(world):
    client = world.app.test_client()
    for path in ("/login", "/no-such-page"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path


def test_the_sessionless_redirect_keeps_its_own_headers(world):
    response = world.app.test_client().get(f"/l/{world.slug}")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.fixture
def admin(world):
    return sign_in(world.app.test_client(), "admin@example.com")


def public_link_name(world) -> str:  # type: ignore[no-untyped-def]
    with world.app.app_context():
        name = db.session.get(PublicLink, world.public_link_id).name
        db.session.remove()
    return name


def test_cross_origin_form_post_is_refused_over_http(world, admin):
    path = f"/public-links/{world.public_link_id}/deactivate"
    for origin in ("https://evil.example", "http://localhost.evil.example", "null"):
        response = admin.post(path, headers={"Origin": origin})
        assert response.status_code == 403, origin
        assert "came from another website" in response.get_data(as_text=True)
    with world.app.app_context():
        assert db.session.get(PublicLink, world.public_link_id).active


@pytest.mark.parametrize("origin", [None, "http://localhost", "HTTP://LOCALHOST:80"])
def test_same_origin_or_no_origin_passes(world, admin, origin):
    headers = {} if origin is None else {"Origin": origin}
    response = admin.post(f"/public-links/{world.public_link_id}/deactivate", headers=headers)
    assert response.status_code == 302, (origin, response.status_code)


def test_public_base_url_counts_as_own_origin(world, admin):
    # The security world's PUBLIC_BASE_URL is http://127.0.0.1:9
    response = admin.post(
        f"/public-links/{world.public_link_id}/deactivate",
        headers={"Origin": "http://127.0.0.1:9"},
    )
    assert response.status_code == 302


def test_cross_origin_api_request_gets_a_json_403(world):
    client = world.app.test_client()
    response = client.patch(
        f"/api/v1/public-links/{world.public_link_id}",
        json={"name": "renamed from elsewhere"},
        headers={**bearer(world.admin_token), "Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "cross_origin"
    assert response.headers["Cache-Control"] == "no-store"
    ok = client.patch(
        f"/api/v1/public-links/{world.public_link_id}",
        json={"name": "renamed by a server"},
        headers=bearer(world.admin_token),
    )
    assert ok.status_code == 200
    assert public_link_name(world) == "renamed by a server"


def test_cross_origin_sign_in_is_refused(world):
    response = world.app.test_client().post(
        "/login",
        data={"email": "admin@example.com", "password": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_receiver_is_not_origin_checked(world):
    """Sessionless: the HMAC decides (401 unsigned), with or without an Origin."""
    response = world.app.test_client().post(
        "/webhooks/cronofy", data=b"{}", headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 401
