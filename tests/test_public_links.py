"""Public Link pages: list, register, edit, deactivate/reactivate, sandbox suggestion."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support import factories
from tests.support.signin import sign_in
from webapp.extensions import db
from webapp.models import PublicLink

GOOD_URL = "https://app.cronofy.com/pls/Q5-ZDPM8"


def public_links(app) -> list[PublicLink]:
    with app.app_context():
        rows = db.session.execute(select(PublicLink).order_by(PublicLink.id)).scalars().all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/public-links"),
        ("get", "/public-links/new"),
        ("post", "/public-links/new"),
        ("get", "/public-links/1/edit"),
        ("post", "/public-links/1/deactivate"),
        ("post", "/public-links/1/reactivate"),
    ],
)
def test_pages_need_sign_in(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_empty_state_explains_and_links_to_create(staff_client):
    page = staff_client.get("/public-links")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Cronofy booking page" in text
    assert 'href="/public-links/new"' in text


def test_register_lists_it_with_owner_and_count(app, staff_client, staff):
    response = staff_client.post("/public-links/new", data={"name": "Interviews", "url": GOOD_URL})
    assert response.status_code == 302
    [link] = public_links(app)
    assert (link.name, link.url, link.active, link.owner_id) == (
        "Interviews",
        GOOD_URL,
        True,
        staff.id,
    )
    with app.app_context():
        factories.make_tracked_link(link.id)
        factories.make_tracked_link(link.id)
    page = staff_client.get("/public-links").get_data(as_text=True)
    assert "Interviews" in page and GOOD_URL in page and "Sam Staff" in page
    assert f'href="/links?public_link={link.id}&amp;owner=all"' in page
    assert 'aria-label="2 tracked links for Interviews">2</a>' in page
    assert "Active" in page


def test_invalid_fields_rerender_with_values_and_reasons(app, staff_client):
    response = staff_client.post(
        "/public-links/new",
        data={"name": "Keep me", "url": "https://app.cronofy.com.evil.com/pls/x"},
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'value="Keep me"' in text
    assert 'value="https://app.cronofy.com.evil.com/pls/x"' in text
    assert "host must be exactly" in text
    assert 'aria-invalid="true"' in text
    response = staff_client.post(
        "/public-links/new", data={"name": "  ", "url": "http://app.cronofy.com/pls/x"}
    )
    text = response.get_data(as_text=True)
    assert "enter a name" in text and "must use https://" in text
    assert public_links(app) == []


def test_edit_and_toggle_active(app, staff_client, staff):
    with app.app_context():
        ref = factories.make_public_link(owner_id=staff.id)
    form = staff_client.get(f"/public-links/{ref.id}/edit")
    assert form.status_code == 200 and 'value="Interviews"' in form.get_data(as_text=True)
    bad = staff_client.post(
        f"/public-links/{ref.id}/edit", data={"name": "X", "url": "https://app.cronofy.com/pls/"}
    )
    assert bad.status_code == 422
    ok = staff_client.post(
        f"/public-links/{ref.id}/edit",
        data={"name": "Renamed", "url": "https://app-de.cronofy.com/pls/new"},
    )
    assert ok.status_code == 302
    [link] = public_links(app)
    assert (link.name, link.url) == ("Renamed", "https://app-de.cronofy.com/pls/new")

    page = staff_client.get("/public-links").get_data(as_text=True)
    assert f'action="/public-links/{ref.id}/deactivate"' in page and "data-confirm=" in page
    assert staff_client.post(f"/public-links/{ref.id}/deactivate").status_code == 302
    assert public_links(app)[0].active is False
    page = staff_client.get("/public-links").get_data(as_text=True)
    assert "deactivated" in page and f'action="/public-links/{ref.id}/reactivate"' in page
    assert staff_client.post(f"/public-links/{ref.id}/reactivate").status_code == 302
    assert public_links(app)[0].active is True


def test_staff_cannot_change_someone_elses_link_but_admins_can(app, client, staff, admin):
    with app.app_context():
        other = factories.make_user(email="other@example.com")
        ref = factories.make_public_link(owner_id=other.id)
    sign_in(client, staff.id)
    assert client.get(f"/public-links/{ref.id}/edit").status_code == 403
    assert client.post(f"/public-links/{ref.id}/deactivate").status_code == 403
    assert "/deactivate" not in client.get("/public-links").get_data(as_text=True)
    sign_in(client, admin.id)
    assert client.post(f"/public-links/{ref.id}/deactivate").status_code == 302
    assert public_links(app)[0].active is False
    assert client.get("/public-links/999/edit").status_code == 404


def test_html_in_name_is_shown_as_text(app, staff_client, staff):
    with app.app_context():
        factories.make_public_link(owner_id=staff.id, name="<script>alert('x')</script><b>bold</b>")
    page = staff_client.get("/public-links").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(" in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_pagination_uses_a_cursor(app, staff_client, staff):
    with app.app_context():
        for number in range(55):
            factories.make_public_link(owner_id=staff.id, name=f"Link {number:02d}")
    first = staff_client.get("/public-links").get_data(as_text=True)
    assert "Link 00" in first and "Link 49" in first and "Link 50" not in first
    assert 'rel="next"' in first
    next_href = (
        first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    )
    assert "cursor=" in next_href
    second = staff_client.get(next_href).get_data(as_text=True)
    assert "Link 50" in second and "Link 54" in second and "Link 49" not in second
    assert staff_client.get("/public-links?cursor=garbage").status_code == 302


def test_sandbox_offers_a_ready_link_and_accepts_it(app_factory, admin):
    app = app_factory(WEBAPP_SANDBOX=True, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    client = app.test_client()
    sign_in(client, admin.id)
    page = client.get("/public-links/new").get_data(as_text=True)
    assert "http://127.0.0.1:5000/sandbox/pls/demo" in page and "sandbox" in page
    response = client.post(
        "/public-links/new",
        data={"name": "Sandbox demo", "url": "http://127.0.0.1:5000/sandbox/pls/demo"},
    )
    assert response.status_code == 302
    prefilled = client.get(
        "/public-links/new?name=Sandbox+demo&url=http://127.0.0.1:5000/sandbox/pls/demo"
    )
    assert 'value="http://127.0.0.1:5000/sandbox/pls/demo"' in prefilled.get_data(as_text=True)


def test_sandbox_links_refused_when_sandbox_is_off(app, staff_client):
    response = staff_client.post(
        "/public-links/new", data={"name": "S", "url": "http://localhost/sandbox/pls/demo"}
    )
    assert response.status_code == 422
    assert "sandbox/pls/demo" not in staff_client.get("/public-links/new").get_data(as_text=True)


def test_csrf_is_required_when_enabled(app_factory, staff):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    sign_in(client, staff.id)
    response = client.post("/public-links/new", data={"name": "N", "url": GOOD_URL})
    assert response.status_code == 400
    assert public_links(app) == []


def test_empty_list_offers_the_sandbox_link_only_while_the_sandbox_is_on(app_factory, admin):
    sandbox_app = app_factory(WEBAPP_SANDBOX=True)
    sandboxed = sign_in(sandbox_app.test_client(), admin.id)
    html = sandboxed.get("/public-links").get_data(as_text=True)
    assert "Use the sandbox link" in html and "/sandbox/pls/demo" in html
    plain_app = app_factory()
    plain = sign_in(plain_app.test_client(), admin.id)
    assert "Use the sandbox link" not in plain.get("/public-links").get_data(as_text=True)
