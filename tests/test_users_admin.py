"""The users page: admins only; invite, change role, deactivate, reset password."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support import factories
from tests.support.signin import sign_in
from webapp.auth import service
from webapp.extensions import db
from webapp.models import User

NEW_PASSWORD = "a brand new password"


def get_user(app, email):
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is not None:
            db.session.expunge(user)
        return user


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users"),
        ("post", "/users"),
        ("post", "/users/1/role"),
        ("post", "/users/1/active"),
        ("get", "/users/1/password"),
        ("post", "/users/1/password"),
    ],
)
def test_users_pages_refuse_staff(staff_client, admin, method, path):
    response = getattr(staff_client, method)(path, data={"role": "admin", "active": "0"})
    assert response.status_code == 403


def test_users_page_needs_sign_in(client, admin):
    response = client.get("/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_users_page_lists_users(admin_client, staff):
    response = admin_client.get("/users")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert "admin@example.com" in html and "staff@example.com" in html
    assert "Sam Staff" in html
    assert "data-confirm=" in html  # deactivation asks first


def test_users_page_escapes_names_and_emails(app, admin_client):
    with app.app_context():
        factories.make_user(email="<b>bold</b>@example.com", name="<script>alert(1)</script>")
    html = admin_client.get("/users").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;@example.com" in html


def test_invite_creates_a_user_who_can_sign_in(app, admin_client):
    response = admin_client.post(
        "/users",
        data={
            "email": "New.Person@Example.com",
            "name": "New Person",
            "role": "staff",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    user = get_user(app, "new.person@example.com")
    assert user is not None and user.role == "staff" and user.active
    assert user.name == "New Person"
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    sign_in(app.test_client(), "new.person@example.com", NEW_PASSWORD)
    assert "Added new.person@example.com" in admin_client.get("/users").get_data(as_text=True)


def test_invite_refuses_a_duplicate_email_with_a_field_error(app, admin_client, staff):
    response = admin_client.post(
        "/users",
        data={
            "email": "STAFF@example.com",
            "name": "Second Sam",
            "role": "admin",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="e-email"' in html
    assert "already exists" in html
    assert 'value="Second Sam"' in html
    assert NEW_PASSWORD not in html
    assert get_user(app, "staff@example.com").role == "staff"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password": "too short", "password_confirm": "too short"}, "password", "at least 12"),
        ({"password_confirm": "something else entirely"}, "password_confirm", "not the same"),
        ({"role": "owner"}, "role", "admin or staff"),
        ({"email": "nope"}, "email", "like name@example.com"),
        ({"name": "n" * 201}, "name", "at most 200"),
    ],
)
def test_invite_validation(app, admin_client, change, field, message):
    data = {
        "email": "fresh@example.com",
        "name": "Fresh",
        "role": "staff",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        **change,
    }
    response = admin_client.post("/users", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="e-{field}"' in html
    assert message in html
    assert get_user(app, "fresh@example.com") is None


def test_role_change_takes_effect(app, admin_client, staff):
    staff_browser = sign_in(app.test_client(), "staff@example.com")
    assert staff_browser.get("/users").status_code == 403
    response = admin_client.post(f"/users/{staff.id}/role", data={"role": "admin"})
    assert response.status_code == 302
    assert get_user(app, "staff@example.com").role == "admin"
    assert staff_browser.get("/users").status_code == 200


def test_last_active_admin_cannot_be_demoted(app, admin_client, admin):
    admin_client.post(f"/users/{admin.id}/role", data={"role": "staff"})
    assert get_user(app, "admin@example.com").role == "admin"
    assert "only active admin" in admin_client.get("/users").get_data(as_text=True)


def test_an_admin_may_step_down_when_another_admin_exists(app, admin_client, admin):
    with app.app_context():
        factories.make_user(email="other-admin@example.com", role="admin")
    response = admin_client.post(f"/users/{admin.id}/role", data={"role": "staff"})
    assert response.headers["Location"] == "/"
    assert get_user(app, "admin@example.com").role == "staff"
    assert admin_client.get("/users").status_code == 403


def test_a_deactivated_admin_does_not_count_as_another_admin(app, admin):
    with app.app_context():
        factories.make_user(email="old-admin@example.com", role="admin", active=False)
        with pytest.raises(service.Refused):
            service.change_role(admin.id, admin.id, "staff")
        staff = factories.make_user(email="s@example.com")
        with pytest.raises(service.Refused):
            service.set_active(staff.id, admin.id, False)
        assert db.session.get(User, admin.id).active


def test_deactivate_ends_the_users_session_elsewhere(app, admin_client, staff):
    staff_browser = sign_in(app.test_client(), "staff@example.com")
    assert staff_browser.get("/tokens").status_code == 200
    response = admin_client.post(f"/users/{staff.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert not get_user(app, "staff@example.com").active
    assert staff_browser.get("/tokens").status_code == 302  # signed out at once
    response = staff_browser.post(
        "/login", data={"email": "staff@example.com", "password": factories.PASSWORD}
    )
    assert response.status_code == 422
    # reactivated: the password works again
    admin_client.post(f"/users/{staff.id}/active", data={"active": "1"})
    assert get_user(app, "staff@example.com").active
    sign_in(app.test_client(), "staff@example.com")


def test_admin_cannot_deactivate_themselves(app, admin_client, admin):
    admin_client.post(f"/users/{admin.id}/active", data={"active": "0"})
    assert get_user(app, "admin@example.com").active
    html = admin_client.get("/users").get_data(as_text=True)
    assert "cannot deactivate your own account" in html


def test_unknown_user_is_404(admin_client):
    assert admin_client.post("/users/9999/active", data={"active": "0"}).status_code == 404
    assert admin_client.post("/users/9999/role", data={"role": "staff"}).status_code == 404
    assert admin_client.get("/users/9999/password").status_code == 404


def test_admin_sets_a_new_password_and_old_sessions_end(app, admin_client, staff):
    staff_browser = sign_in(app.test_client(), "staff@example.com")
    page = admin_client.get(f"/users/{staff.id}/password")
    assert page.status_code == 200
    response = admin_client.post(
        f"/users/{staff.id}/password", data={"password": "short", "password_confirm": "short"}
    )
    assert response.status_code == 422
    assert staff_browser.get("/tokens").status_code == 200
    response = admin_client.post(
        f"/users/{staff.id}/password",
        data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert staff_browser.get("/tokens").status_code == 302
    sign_in(app.test_client(), "staff@example.com", NEW_PASSWORD)
    refused = app.test_client().post(
        "/login", data={"email": "staff@example.com", "password": factories.PASSWORD}
    )
    assert refused.status_code == 422


def test_change_own_password(app, staff_client, staff):
    other_browser = sign_in(app.test_client(), "staff@example.com")
    response = staff_client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert 'id="e-current_password"' in response.get_data(as_text=True)
    response = staff_client.post(
        "/account/password",
        data={
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert staff_client.get("/tokens").status_code == 200  # this session carries on
    assert other_browser.get("/tokens").status_code == 302  # the other one ended
    sign_in(app.test_client(), "staff@example.com", NEW_PASSWORD)
