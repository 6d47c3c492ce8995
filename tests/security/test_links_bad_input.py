"""Bad input at the edges of the links area: calendar overflow, header injection, huge ids."""

from __future__ import annotations

from tests.support.config import TEST_DATABASE_URL
from tests.support.signin import bearer, sign_in
from webapp.pagination import encode_cursor

ON_POSTGRESQL = bool(TEST_DATABASE_URL)
FAR_FUTURE = "9999-12-31T23:59:59-23:59"  # a valid ISO time that is past year 9999 in UTC
PG_INTEGER_MAX = 2**31 - 1


def test_api_expiry_beyond_the_calendar_is_a_field_error(world):
    response = world.app.test_client().post(
        "/api/v1/tracked-links",
        json={"public_link_id": world.public_link_id, "expires_at": FAR_FUTURE},
        headers=bearer(world.admin_token),
    )
    assert response.status_code == 422
    assert "expires_at" in response.get_json()["error"]["fields"]


def test_form_expiry_beyond_the_calendar_is_a_field_error(world):
    client = sign_in(world.app.test_client(), "admin@example.com")
    response = client.post(
        "/links/new",
        data={"public_link_id": str(world.public_link_id), "expires_at": "9999-12-31T23:59-23:59"},
    )
    assert response.status_code == 422


def test_tracked_links_page_with_an_out_of_range_cursor_starts_over(world):
    client = sign_in(world.app.test_client(), "admin@example.com")
    response = client.get("/links", query_string={"cursor": encode_cursor(FAR_FUTURE, 1)})
    assert response.status_code in (200, 302)


def test_disable_form_next_with_a_line_break_goes_back_safely(world):
    client = sign_in(world.app.test_client(), "admin@example.com")
    response = client.post(
        f"/links/{world.tracked_link_id}/disable",
        data={"next": "/links\r\nSet-Cookie: x=1"},
    )
    assert response.status_code == 302
    assert "\n" not in response.headers["Location"]


def test_api_public_link_id_past_the_integer_keys_is_a_field_error(world):
    response = world.app.test_client().post(
        "/api/v1/tracked-links",
        json={"public_link_id": PG_INTEGER_MAX + 1},
        headers=bearer(world.admin_token),
    )
    assert response.status_code == 422


def test_api_cursor_past_the_integer_keys_is_refused(world):
    client = world.app.test_client()
    for path in ("/api/v1/tracked-links", "/api/v1/public-links"):
        response = client.get(
            path,
            query_string={"cursor": encode_cursor(PG_INTEGER_MAX + 1)},
            headers=bearer(world.admin_token),
        )
        assert response.status_code in (200, 422), path


def test_links_filter_past_the_integer_keys_is_ignored(world):
    client = sign_in(world.app.test_client(), "admin@example.com")
    response = client.get("/links", query_string={"public_link": str(PG_INTEGER_MAX + 1)})
    assert response.status_code == 200
