"""Issue 9 §6: a notification cannot choose where a booked tracked link sends invitees.

A booking's `recipient_operations.view_url` becomes the tracked link's redirect target only
when it is an https page on Cronofy's app hosts (or, with the sandbox on, the sandbox's own
pages), with no user name and no control character. Before, any http(s) host was taken:
`https://evil.example/...`, `https://app.cronofy.com@evil.example/`, look-alike hosts, and a
CR/LF that turned the short link into a permanent 500. A value stored before the rule is
forgotten by a migration, so the redirect never uses it.
"""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from tests.support import factories
from tests.support.config import make_test_config
from tests.support.deliveries import notification_body, post_signed
from webapp import create_app
from webapp.extensions import db
from webapp.models import TrackedLink
from webapp.webhooks.fold import BookingRule

GOOD = "https://app.cronofy.com/rts/LOiwlKXQ"
BAD = [
    "https://evil.example/rts/LOiwlKXQ",
    "https://app.cronofy.com@evil.example/",
    "https://app.cronofy.com:x@evil.example/",
    "https://xn--pp-cronofy-8hb.com/rts/x",  # punycode look-alike
    "https://xn--80ak6aa92e.com/",
    "https://\u0430pp.cronofy.com/rts/x",  # Cyrillic "a"
    "https://app.cronofy.com.evil.example/rts/x",
    "https://app.cronofy.com./rts/x",
    "https://app.cronofy.com:8443/rts/x",
    "http://app.cronofy.com/rts/x",
    "https://app.cronofy.com/rts/x\r\nSet-Cookie: stolen=1",
    "https://app.cronofy.com/rts/x\nLocation: https://evil.example/",
    "https://app.cronofy.com/rts/\tx",
    "https://app.cronofy.com\\@evil.example/",
    "javascript:alert(1)",
    "//evil.example/x",
    "/sandbox/bookings/x",
]


@pytest.mark.parametrize("host", ["app", "app-au", "app-ca", "app-de", "app-sg", "app-uk"])
def test_cronofy_app_hosts_are_accepted(host):
    assert BookingRule().allows(f"https://{host}.cronofy.com/rts/LOiwlKXQ?x=1")
    assert BookingRule().allows(f"https://{host.upper()}.CRONOFY.com/rts/LOiwlKXQ")


@pytest.mark.parametrize("url", BAD)
def test_anything_else_is_refused(url):
    assert not BookingRule().allows(url)
    assert not BookingRule(sandbox_origin="https://links.example.com").allows(url)


def test_the_sandboxs_own_pages_only_while_it_is_on():
    page = "https://links.example.com/sandbox/bookings/abc"
    assert not BookingRule().allows(page)
    assert BookingRule(sandbox_origin="https://links.example.com").allows(page)
    assert not BookingRule(sandbox_origin="https://links.example.com").allows(
        "https://links.example.com/admin"
    )
    assert not BookingRule(sandbox_origin="https://other.example").allows(page)
    laptop = BookingRule(sandbox_loopback=True)
    assert laptop.allows("http://127.0.0.1:5000/sandbox/bookings/abc")
    assert laptop.allows("http://localhost:8000/sandbox/bookings/abc")
    assert not laptop.allows("http://evil.example/sandbox/bookings/abc")
    assert not laptop.allows("http://127.0.0.1@evil.example/sandbox/bookings/abc")


def booked_link(app, client, view_url: str) -> tuple[str, str | None]:
    """A tracked link whose booking's notification carries `view_url`: (slug, stored)."""
    with app.app_context():
        public_link = factories.make_public_link()
        link = factories.make_tracked_link(public_link.id, correlation_id="booked-1")
        slug = link.slug
    body = notification_body(
        "srq_booked", correlation_id="booked-1", recipient_operations={"view_url": view_url}
    )
    assert post_signed(client, body).status_code == 200
    with app.app_context():
        stored = db.session.execute(
            db.select(TrackedLink.booking_view_url).where(TrackedLink.slug == slug)
        ).scalar_one()
    return slug, stored


@pytest.mark.parametrize("url", BAD[:3] + BAD[10:12])
def test_a_notification_never_points_the_tracked_link_elsewhere(app, client, url):
    slug, stored = booked_link(app, client, url)
    assert stored is None
    answer = client.get(f"/l/{slug}", headers={"User-Agent": "Mozilla/5.0 Firefox/120.0"})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith("https://app.cronofy.com/pls/") and "claim_token=" in location


def test_a_cronofy_booking_page_is_still_where_booked_links_go(app, client):
    slug, stored = booked_link(app, client, GOOD)
    assert stored == GOOD
    answer = client.get(f"/l/{slug}", headers={"User-Agent": "Mozilla/5.0 Firefox/120.0"})
    assert answer.status_code == 302 and answer.headers["Location"] == GOOD


def test_the_migration_forgets_stored_targets_outside_cronofy(tmp_path):
    app = create_app(
        make_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'm.sqlite3'}")
    )
    values = {1: GOOD, 2: BAD[0], 3: BAD[1], 4: BAD[10], 5: None}
    with app.app_context():
        upgrade(revision="recv0001")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO public_links (id, name, url, active, created_at, updated_at) "
                    "VALUES (1, 'P', 'https://app.cronofy.com/pls/x', 1, :t, :t)"
                ),
                {"t": "2025-01-01 00:00:00"},
            )
            for key, url in values.items():
                connection.execute(
                    text(
                        "INSERT INTO tracked_links (id, public_link_id, slug, correlation_id, "
                        "label, booking_view_url, allow_repeat_bookings, created_at) "
                        "VALUES (:id, 1, :slug, :corr, '', :url, 0, :t)"
                    ),
                    {
                        "id": key,
                        "slug": f"s{key}",
                        "corr": f"c{key}",
                        "url": url,
                        "t": "2025-01-01 00:00:00",
                    },
                )
        upgrade()
        with db.engine.connect() as connection:
            kept = dict(
                connection.execute(text("SELECT id, booking_view_url FROM tracked_links")).all()
            )
        db.engine.dispose()
    assert kept == {1: GOOD, 2: None, 3: None, 4: None, 5: None}
