"""The organisation profile: set by an admin on /settings, shown on every invitee page."""

from __future__ import annotations

import io

import pytest

from tests.support import factories
from webapp.models import utcnow
from webapp.organisation.logos import MAX_LOGO_BYTES, InvalidLogo, logo_content_type

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
SVG = b'<?xml version="1.0"?>\n<!-- logo -->\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'


def save(client, logo: bytes | None = None, filename: str = "logo.png", **fields):
    data = {"name": "", "contact_email": "", "logo_url": "", **fields}
    if logo is not None:
        data["logo_file"] = (io.BytesIO(logo), filename)
    return client.post("/settings/organisation", data=data, content_type="multipart/form-data")


@pytest.fixture
def disabled_link(app, staff):
    with app.app_context():
        public_link = factories.make_public_link(owner_id=staff.id)
        link = factories.make_tracked_link(public_link.id, "gone-1", staff.id)
        link_id, slug = link.id, link.slug
    factories.update_link(app, link_id, disabled_at=utcnow())
    return slug


def test_recognised_by_content_not_by_name():
    assert logo_content_type(PNG) == "image/png"
    assert logo_content_type(JPEG) == "image/jpeg"
    assert logo_content_type(SVG) == "image/svg+xml"
    assert logo_content_type(b"\xef\xbb\xbf  <svg viewBox='0 0 1 1'/>") == "image/svg+xml"
    for bad, why in [
        (b"", "empty"),
        (b"GIF89a....", "PNG, JPEG or SVG"),
        (b"<html><svg></svg></html>", "PNG, JPEG or SVG"),
        (PNG + b"\x00" * MAX_LOGO_BYTES, "larger than 256 KB"),
    ]:
        with pytest.raises(InvalidLogo, match=why):
            logo_content_type(bad)


def test_admin_sets_name_contact_and_logo(app, admin_client, client, disabled_link):
    response = save(admin_client, PNG, name="Acme Recruiting", contact_email="Talent@Acme.example")
    assert response.status_code == 302 and response.headers["Location"].startswith("/settings")
    settings = admin_client.get("/settings").get_data(as_text=True)
    assert 'value="Acme Recruiting"' in settings and 'value="talent@acme.example"' in settings
    assert 'action="/settings/organisation"' in settings

    logo = client.get("/organisation/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/png" and logo.data == PNG
    assert logo.headers["X-Content-Type-Options"] == "nosniff"

    admin_client.post("/logout")
    page = client.get(f"/l/{disabled_link}").get_data(as_text=True)
    assert "Acme Recruiting" in page
    assert 'src="/organisation/logo?v=' in page and 'alt="Acme Recruiting"' in page
    assert 'href="mailto:talent@acme.example"' in page
    assert "ask the person who sent you this link for a new one" in page
    assert "/login" not in page and "/setup" not in page


def test_an_svg_logo_runs_nothing_at_its_own_address(app, admin_client, client):
    assert save(admin_client, SVG, filename="logo.svg").status_code == 302
    logo = client.get("/organisation/logo")
    assert logo.mimetype == "image/svg+xml"
    policy = logo.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy  # falls back to default-src 'none'
    assert logo.headers["Content-Disposition"] == 'inline; filename="logo.svg"'


def test_a_logo_by_address_may_be_loaded_where_it_is_shown(
    app, admin_client, client, disabled_link
):
    response = save(admin_client, logo_url="https://cdn.acme.example/brand/logo.png")
    assert response.status_code == 302
    page = client.get(f"/l/{disabled_link}")
    assert 'src="https://cdn.acme.example/brand/logo.png"' in page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://cdn.acme.example;" in policy
    assert "script-src 'self';" in policy  # the rest of the policy is untouched
    # Pages that do not show the logo keep the usual policy.
    assert "cdn.acme.example" not in client.get("/login").headers["Content-Security-Policy"]
    assert client.get("/organisation/logo").status_code == 404  # nothing uploaded


def test_an_upload_replaces_an_address_and_removing_clears_both(app, admin_client, client):
    save(admin_client, logo_url="https://cdn.acme.example/logo.png")
    save(admin_client, PNG, logo_url="https://cdn.acme.example/logo.png")
    settings = admin_client.get("/settings").get_data(as_text=True)
    assert "/organisation/logo?v=" in settings and "cdn.acme.example" not in settings
    assert save(admin_client, remove_logo="1").status_code == 302
    assert client.get("/organisation/logo").status_code == 404
    assert "Remove the logo" not in admin_client.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "logo", "field", "message"),
    [
        ({"contact_email": "not an address"}, None, "contact_email", "like name@example.com"),
        ({"logo_url": "http://cdn.acme.example/x.png"}, None, "logo_url", "https://"),
        ({"logo_url": "javascript:alert(1)"}, None, "logo_url", "starting with https://"),
        ({"name": "x" * 201}, None, "name", "at most 200"),
        ({}, b"GIF89a", "logo_file", "Upload a PNG, JPEG or SVG image."),
        ({}, PNG + b"\x00" * MAX_LOGO_BYTES, "logo_file", "larger than 256 KB"),
    ],
)
def test_bad_values_rerender_the_settings_page_with_reasons(
    app, admin_client, client, fields, logo, field, message
):
    response = save(admin_client, logo, filename="x.gif", **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<h1>Settings</h1>" in page and "was not saved" in page
    assert f'id="e-{field}"' in page and message in page
    assert client.get("/organisation/logo").status_code == 404


def test_only_admins_set_it(app, staff_client):
    assert save(staff_client, name="Staff Co").status_code == 403


def test_without_a_profile_invitee_pages_still_say_who_to_ask(app, client, disabled_link):
    page = client.get(f"/l/{disabled_link}").get_data(as_text=True)
    assert "ask the person who sent you this link for a new one" in page
    assert "mailto:" not in page and "<img" not in page and "/login" not in page
