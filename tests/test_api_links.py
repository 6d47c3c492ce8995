"""JSON API v1: Public Links and tracked links (docs/architecture.md, "The stable contract")."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support import factories
from webapp.auth.api_tokens import issue_token
from webapp.extensions import db
from webapp.models import User, Visit

GOOD_URL = "https://app.cronofy.com/pls/Q5-ZDPM8"


def token_for(app, user_id: int) -> dict[str, str]:
    with app.app_context():
        token = issue_token(db.session.get(User, user_id), "t")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def headers(app, staff):
    return token_for(app, staff.id)


def assert_error(response, status, *fields):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    for name in fields:
        assert name in error.get("fields", {}), error
    return error


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/public-links"),
        ("post", "/api/v1/public-links"),
        ("get", "/api/v1/public-links/1"),
        ("patch", "/api/v1/public-links/1"),
        ("get", "/api/v1/tracked-links"),
        ("post", "/api/v1/tracked-links"),
        ("get", "/api/v1/tracked-links/1"),
        ("patch", "/api/v1/tracked-links/1"),
    ],
)
def test_401_without_a_valid_token(client, method, path):
    assert_error(getattr(client, method)(path, json={}), 401)
    bad = {"Authorization": "Bearer plk_not-a-real-token"}
    assert_error(getattr(client, method)(path, json={}, headers=bad), 401)


def test_public_link_crud(client, headers, staff):
    created = client.post(
        "/api/v1/public-links", json={"name": "Interviews", "url": GOOD_URL}, headers=headers
    )
    assert created.status_code == 201
    body = created.get_json()
    assert body["name"] == "Interviews" and body["url"] == GOOD_URL and body["active"] is True
    assert body["owner_id"] == staff.id and body["created_at"].endswith("Z")
    link_id = body["id"]
    assert client.get(f"/api/v1/public-links/{link_id}", headers=headers).get_json() == body
    patched = client.patch(
        f"/api/v1/public-links/{link_id}",
        json={"active": False, "name": "Renamed"},
        headers=headers,
    )
    assert patched.status_code == 200
    assert patched.get_json()["active"] is False and patched.get_json()["name"] == "Renamed"
    listed = client.get("/api/v1/public-links", headers=headers).get_json()
    assert [item["id"] for item in listed["items"]] == [link_id]
    assert listed["next_cursor"] is None


def test_public_link_validation(client, headers, public_link):
    error = assert_error(
        client.post(
            "/api/v1/public-links",
            json={
                "name": 5,
                "url": "https://app.cronofy.com@evil.com/pls/x",
                "active": "yes",
                "x": 1,
            },
            headers=headers,
        ),
        422,
        "name",
        "url",
        "active",
        "x",
    )
    assert "user name or password" in error["fields"]["url"]
    assert_error(client.post("/api/v1/public-links", json={}, headers=headers), 422, "name", "url")
    assert_error(
        client.patch(
            f"/api/v1/public-links/{public_link}", json={"active": "yes"}, headers=headers
        ),
        422,
        "active",
    )
    assert_error(client.patch("/api/v1/public-links/999", json={}, headers=headers), 404)
    assert_error(client.get("/api/v1/public-links/999", headers=headers), 404)
    assert_error(client.post("/api/v1/public-links", data="x", headers=headers), 415)
    assert_error(
        client.post("/api/v1/public-links", json=["not", "an", "object"], headers=headers), 422
    )
    assert_error(
        client.post(
            "/api/v1/public-links",
            data="{bad json",
            headers={**headers, "Content-Type": "application/json"},
        ),
        400,
    )


def test_tracked_link_crud_and_the_short_url_works(app, client, headers, public_link, staff):
    created = client.post(
        "/api/v1/tracked-links",
        json={
            "public_link_id": public_link,
            "correlation_id": "cand 42 & co",
            "label": "Ada",
            "utm": {"utm_source": "api", "utm_medium": None},
            "expires_at": "2099-01-31T19:00:00+02:00",
            "allow_repeat_bookings": True,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["correlation_id"] == "cand 42 & co" and body["label"] == "Ada"
    assert body["utm"] == {
        "utm_source": "api",
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
    }
    assert body["expires_at"] == "2099-01-31T17:00:00Z"
    assert body["url"] == f"http://localhost/l/{body['slug']}"
    assert body["click_count"] == 0 and body["disabled"] is False
    assert body["allow_repeat_bookings"] is True and body["created_at"].endswith("Z")
    assert body["public_link_id"] == public_link and body["created_by_id"] == staff.id

    redirect = client.get(urlsplit(body["url"]).path)
    assert redirect.status_code == 302
    query = dict(parse_qsl(urlsplit(redirect.headers["Location"]).query))
    assert query["correlation_id"] == "cand 42 & co" and query["utm_source"] == "api"
    fetched = client.get(f"/api/v1/tracked-links/{body['id']}", headers=headers).get_json()
    assert fetched["click_count"] == 1

    patched = client.patch(
        f"/api/v1/tracked-links/{body['id']}",
        json={"disabled": True, "label": "Ada L.", "utm": {"utm_term": "t"}},
        headers=headers,
    ).get_json()
    assert patched["disabled"] is True and patched["disabled_at"] and patched["label"] == "Ada L."
    assert patched["utm"]["utm_source"] == "api" and patched["utm"]["utm_term"] == "t"
    assert client.get(urlsplit(body["url"]).path).status_code == 410
    enabled = client.patch(
        f"/api/v1/tracked-links/{body['id']}",
        json={"disabled": False, "expires_at": None},
        headers=headers,
    ).get_json()
    assert enabled["disabled"] is False and enabled["expires_at"] is None


def test_correlation_id_generated_when_omitted(client, headers, public_link):
    first = client.post(
        "/api/v1/tracked-links", json={"public_link_id": public_link}, headers=headers
    )
    second = client.post(
        "/api/v1/tracked-links",
        json={"public_link_id": public_link, "correlation_id": None},
        headers=headers,
    )
    assert first.status_code == second.status_code == 201
    assert first.get_json()["correlation_id"] != second.get_json()["correlation_id"]


def test_duplicate_correlation_id_is_409(client, headers, public_link):
    payload = {"public_link_id": public_link, "correlation_id": "dup"}
    assert client.post("/api/v1/tracked-links", json=payload, headers=headers).status_code == 201
    error = assert_error(
        client.post("/api/v1/tracked-links", json=payload, headers=headers), 409, "correlation_id"
    )
    assert error["code"] == "conflict"
    other = client.post(
        "/api/v1/tracked-links",
        json={"public_link_id": public_link, "correlation_id": "other"},
        headers=headers,
    ).get_json()
    assert_error(
        client.patch(
            f"/api/v1/tracked-links/{other['id']}", json={"correlation_id": "dup"}, headers=headers
        ),
        409,
        "correlation_id",
    )


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"public_link_id": "1"}, ["public_link_id"]),
        ({"public_link_id": 999}, ["public_link_id"]),
        ({}, ["public_link_id"]),
        ({"utm": "x"}, ["utm"]),
        ({"utm": {"utm_source": 5, "utm_other": "x"}}, ["utm.utm_source", "utm.utm_other"]),
        ({"utm": {"utm_source": "s" * 129}}, ["utm.utm_source"]),
        ({"expires_at": "2099-01-01T00:00:00"}, ["expires_at"]),
        ({"expires_at": "2001-01-01T00:00:00Z"}, ["expires_at"]),
        ({"expires_at": 5}, ["expires_at"]),
        ({"disabled": "yes", "allow_repeat_bookings": 1}, ["disabled", "allow_repeat_bookings"]),
        ({"correlation_id": "a\nb"}, ["correlation_id"]),
        ({"correlation_id": 42}, ["correlation_id"]),
        ({"correlation_id": "c" * 129}, ["correlation_id"]),
        ({"label": ["x"]}, ["label"]),
        ({"slug": "mine", "id": 4}, ["slug", "id"]),
    ],
)
def test_tracked_link_validation_is_422_with_fields(client, headers, public_link, payload, fields):
    body = {"public_link_id": public_link, **payload}
    if payload == {}:
        body = {}
    assert_error(client.post("/api/v1/tracked-links", json=body, headers=headers), 422, *fields)


def test_inactive_public_link_is_refused(app, client, headers):
    with app.app_context():
        inactive = factories.make_public_link(active=False).id
    assert_error(
        client.post("/api/v1/tracked-links", json={"public_link_id": inactive}, headers=headers),
        422,
        "public_link_id",
    )


def test_unknown_ids_404_and_others_links_403(app, client, headers, admin, public_link):
    assert_error(client.get("/api/v1/tracked-links/999", headers=headers), 404)
    assert_error(client.patch("/api/v1/tracked-links/999", json={}, headers=headers), 404)
    assert_error(client.get("/api/v1/tracked-links/not-a-number", headers=headers), 404)
    with app.app_context():
        theirs = factories.make_tracked_link(public_link, "theirs", admin.id).id
    assert_error(
        client.patch(f"/api/v1/tracked-links/{theirs}", json={"label": "x"}, headers=headers), 403
    )
    admin_headers = token_for(app, admin.id)
    ok = client.patch(f"/api/v1/tracked-links/{theirs}", json={"label": "x"}, headers=admin_headers)
    assert ok.status_code == 200


def test_list_filters_and_cursor_pagination(app, client, headers, public_link, staff):
    with app.app_context():
        other = factories.make_public_link(name="Other").id
        ids = [factories.make_tracked_link(public_link, f"cid-{n}", staff.id).id for n in range(5)]
        factories.make_tracked_link(other, "elsewhere", staff.id)
        db.session.add(Visit(tracked_link_id=ids[0], agent_class="human", outcome="redirect"))
        db.session.add(Visit(tracked_link_id=ids[0], agent_class="bot", outcome="preview"))
        db.session.commit()
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, "public_link_id": public_link}
        if cursor:
            query["cursor"] = cursor
        page = client.get("/api/v1/tracked-links", query_string=query, headers=headers).get_json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == 3
    by_id = client.get(
        "/api/v1/tracked-links", query_string={"correlation_id": "cid-0"}, headers=headers
    )
    [item] = by_id.get_json()["items"]
    assert item["id"] == ids[0] and item["click_count"] == 1
    assert client.get(
        "/api/v1/tracked-links", query_string={"correlation_id": "nope"}, headers=headers
    ).get_json() == {"items": [], "next_cursor": None}
    assert_error(client.get("/api/v1/tracked-links?cursor=%%%", headers=headers), 422, "cursor")
    assert_error(client.get("/api/v1/tracked-links?cursor=WyJ4Il0", headers=headers), 422, "cursor")
    assert_error(client.get("/api/v1/public-links?cursor=garbage", headers=headers), 422, "cursor")
    assert_error(
        client.get("/api/v1/tracked-links?public_link_id=x", headers=headers), 422, "public_link_id"
    )
    assert_error(client.get("/api/v1/tracked-links?limit=0", headers=headers), 422, "limit")


def test_public_links_paginate(app, client, headers, staff):
    with app.app_context():
        ids = [factories.make_public_link(owner_id=staff.id, name=f"P{n}").id for n in range(3)]
    first = client.get("/api/v1/public-links?limit=2", headers=headers).get_json()
    second = client.get(
        f"/api/v1/public-links?limit=2&cursor={first['next_cursor']}", headers=headers
    ).get_json()
    assert [item["id"] for item in first["items"] + second["items"]] == ids
    assert second["next_cursor"] is None


def test_sandbox_public_links_via_api(app_factory, staff):
    app = app_factory(WEBAPP_SANDBOX=True)
    client = app.test_client()
    headers = token_for(app, staff.id)
    response = client.post(
        "/api/v1/public-links",
        json={"name": "Sandbox", "url": "http://localhost/sandbox/pls/demo"},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()


def test_errors_under_api_are_never_html(client, headers):
    response = client.delete("/api/v1/tracked-links/1", headers=headers)
    assert response.status_code == 405 and response.is_json


def test_out_of_range_ids_are_404_or_422(client, headers):
    from webapp.pagination import encode_cursor

    big = 10**30
    assert_error(client.get(f"/api/v1/tracked-links/{big}", headers=headers), 404)
    assert_error(client.patch(f"/api/v1/public-links/{big}", json={}, headers=headers), 404)
    assert_error(
        client.post("/api/v1/tracked-links", json={"public_link_id": big}, headers=headers),
        422,
        "public_link_id",
    )
    assert_error(
        client.get(f"/api/v1/tracked-links?public_link_id={big}", headers=headers),
        422,
        "public_link_id",
    )
    cursor = encode_cursor(big)
    assert_error(
        client.get(f"/api/v1/tracked-links?cursor={cursor}", headers=headers), 422, "cursor"
    )


def test_filters_with_control_characters_are_422(client, headers):
    response = client.get("/api/v1/tracked-links?correlation_id=a%00b", headers=headers)
    assert_error(response, 422, "correlation_id")
