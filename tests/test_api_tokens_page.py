"""API tokens: shown once, only a hash stored, revocable, dead with a deactivated account."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from webapp.auth import api_tokens, service
from webapp.extensions import db
from webapp.models import ApiToken

TOKEN_RE = re.compile(r'<code class="break" id="new-token">([^<]+)</code>')


def create(client, name="CRM sync"):
    response = client.post("/tokens", data={"name": name})
    assert response.status_code == 200
    match = TOKEN_RE.search(response.get_data(as_text=True))
    assert match, "the new token is not on the page"
    return response, match.group(1)


def api_get_paths(app):
    """Every GET route of the JSON API, with placeholder values for its arguments."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and "GET" in rule.methods:
            paths.append(
                rule.build({name: "1" for name in rule.arguments}, append_unknown=False)[1]
            )
    return paths


def test_tokens_page_empty_state(staff_client):
    response = staff_client.get("/tokens")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert "You have no API tokens yet" in html


def test_tokens_page_needs_sign_in(client):
    assert client.get("/tokens").status_code == 302
    assert client.post("/tokens", data={"name": "x"}).status_code == 302


def test_create_shows_the_token_once_and_stores_only_its_hash(app, staff_client, staff):
    response, token = create(staff_client)
    html = response.get_data(as_text=True)
    assert "will not be shown again" in html
    assert f'data-copy="{token}"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert token.startswith(api_tokens.TOKEN_PREFIX)

    with app.app_context():
        row = db.session.execute(select(ApiToken)).scalar_one()
        assert row.user_id == staff.id
        assert row.name == "CRM sync"
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        stored = [str(getattr(row, c.name)) for c in ApiToken.__table__.columns]
        assert not any(token in value for value in stored)
        assert api_tokens.authenticate_bearer(token).id == staff.id

    later = staff_client.get("/tokens").get_data(as_text=True)
    assert token not in later
    assert "CRM sync" in later
    assert token[:10] in later  # the prefix tells tokens apart


def test_token_name_is_validated_and_kept(app, staff_client):
    response = staff_client.post("/tokens", data={"name": "x" * 101})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="e-name"' in html
    assert "x" * 101 in html
    with app.app_context():
        assert db.session.execute(select(ApiToken)).first() is None


def test_token_name_is_escaped(staff_client):
    response, _ = create(staff_client, name="<img src=x onerror=alert(1)>")
    html = response.get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img src=x" not in staff_client.get("/tokens").get_data(as_text=True)


def test_revoke_stops_the_token(app, staff_client):
    _, token = create(staff_client)
    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    response = staff_client.post(f"/tokens/{token_id}/revoke")
    assert response.status_code == 302
    with app.app_context():
        assert api_tokens.authenticate_bearer(token) is None
        assert db.session.get(ApiToken, token_id).revoked_at is not None
    assert "revoked" in staff_client.get("/tokens").get_data(as_text=True)
    for path in api_get_paths(app):
        assert (
            staff_client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401
        )


def test_cannot_revoke_someone_elses_token(app, admin, staff_client):
    with app.app_context():
        token = api_tokens.create_token(admin.id, "admin's")
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    assert staff_client.post(f"/tokens/{token_id}/revoke").status_code == 404
    with app.app_context():
        assert api_tokens.authenticate_bearer(token).id == admin.id
    assert "admin&#39;s" not in staff_client.get("/tokens").get_data(as_text=True)


def test_deactivation_stops_the_users_tokens(app, admin, staff):
    with app.app_context():
        token = api_tokens.create_token(staff.id, "")
        assert api_tokens.authenticate_bearer(token).id == staff.id
        service.set_active(admin.id, staff.id, False)
        assert api_tokens.authenticate_bearer(token) is None
        with pytest.raises(service.Refused):
            api_tokens.create_token(staff.id, "another")
        # Revoked for good (issue 9 §5): reactivating the account does not revive it.
        service.set_active(admin.id, staff.id, True)
        assert api_tokens.authenticate_bearer(token) is None
        fresh = api_tokens.create_token(staff.id, "after reactivation")
        assert api_tokens.authenticate_bearer(fresh).id == staff.id


@pytest.mark.parametrize(
    "value",
    ["", "plk_", "plk_" + "A" * 43, "not-a-token", "plk_" + "x" * 300, "Bearer plk_abc"],
)
def test_bad_tokens_are_refused(app, value):
    with app.app_context():
        assert api_tokens.authenticate_bearer(value) is None


def test_authenticate_bearer_records_last_use(app, staff):
    with app.app_context():
        token = api_tokens.create_token(staff.id, "ci")
        assert db.session.execute(select(ApiToken.last_used_at)).scalar_one() is None
        api_tokens.authenticate_bearer(token)
        assert db.session.execute(select(ApiToken.last_used_at)).scalar_one() is not None


def test_api_needs_a_valid_token(app, client, staff):
    paths = api_get_paths(app)
    assert paths, "the JSON API has no GET route to check"
    with app.app_context():
        token = api_tokens.create_token(staff.id, "ci")
    for path in paths:
        for headers in ({}, {"Authorization": "Bearer plk_wrong"}, {"Authorization": token}):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.get_json()["error"]["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    ok = client.get("/api/v1/public-links", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code != 401
