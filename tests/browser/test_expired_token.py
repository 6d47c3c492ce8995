"""The sandbox checks claim tokens as Cronofy does, and says which rule a refused one broke.

The server runs with the shortest allowed token lifetime (CLAIM_TOKEN_TTL=60). Tokens are
issued 45 s in the past to absorb clock skew, so one expires about 15 s after the click.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser import steps
from tests.browser.harness import screenshots_on_error

SERVER_ENV = {"CLAIM_TOKEN_TTL": "60"}


@pytest.fixture(scope="module")
def short_url(app_server, browser) -> Iterator[str]:
    with screenshots_on_error(browser, "expired-token-setup") as context:
        page = context.new_page()
        public_link = steps.set_up_install(page, app_server.base_url)
        link = steps.new_tracked_link(page, app_server.base_url, public_link, "cand-expiry")
    yield link.short_url


def claims_of(booking_url: str) -> dict[str, Any]:
    """The claim token's payload, read (not verified) from the booking page's URL."""
    token = parse_qs(urlsplit(booking_url).query)["claim_token"][0]
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def expect_refused(page: Any, reason: str, why: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("This booking link can't be used")
    expect(page.get_by_role("alert")).to_contain_text(why)
    expect(page.get_by_text("Rule that failed")).to_contain_text(reason)
    expect(page.get_by_role("button", name="Confirm booking")).to_have_count(0)


def test_replayed_token_is_refused(app_server, short_url, new_context):
    invitee = new_context().new_page()
    steps.open_booking_page(invitee, short_url)
    booking_url = invitee.url

    # The same booking URL in someone else's browser: the token's jti was already used.
    stranger = new_context().new_page()
    response = stranger.goto(booking_url)
    assert response.status == 403
    expect_refused(stranger, "replayed", "already used")

    # The invitee's own browser may still reload its page.
    invitee.reload()
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Pick a time")


def test_expired_token_is_refused(app_server, short_url, new_context):
    invitee = new_context().new_page()
    steps.open_booking_page(invitee, short_url)
    booking_url = invitee.url
    claims = claims_of(booking_url)
    assert claims["exp"] - claims["iat"] == 60
    assert claims["exp"] > time.time(), "the token should still be valid right after the click"

    time.sleep(max(0.0, claims["exp"] - time.time()) + 1.0)

    response = invitee.reload()
    assert response.status == 403
    expect_refused(invitee, "expired", "expired")

    fresh = new_context().new_page()
    response = fresh.goto(booking_url)
    assert response.status == 403
    expect_refused(fresh, "expired", "expired")

    # A new click on the tracked link makes a new token, and the booking page opens again.
    steps.open_booking_page(fresh, short_url)
    assert claims_of(fresh.url)["jti"] != claims["jti"]
