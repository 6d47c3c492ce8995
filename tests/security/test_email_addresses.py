"""Email addresses are checked by email-validator (syntax only, no network), not a regex.

Addresses the old patterns let through: doubled, leading or trailing dots, a hyphen or an
underscore where a domain cannot have one, invisible characters, reserved domains. Each is
refused with a reason, for staff accounts (the users page and the CLI) and for invitees on
the sandbox booking form; internationalised addresses are accepted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.test_sandbox_pages import book, outbox_rows
from webapp.extensions import db
from webapp.models import User

PASSWORD = "a long enough password"
MALFORMED = [
    "ada..lovelace@example.com",
    ".ada@example.com",
    "ada.@example.com",
    "ada@example..com",
    "ada@-example.com",
    "ada@exa_mple.com",
    "ada\u200b@example.com",  # a zero-width space
    "ada@example.com\u202e",  # a right-to-left override
    "ada@localhost",
    "ada@corp.invalid",
]
WELL_FORMED = ["ada@example.com", "ada+tag@sub.example.co.uk", "用户@例子.广告", "josé@exämple.com"]


@pytest.mark.parametrize("address", MALFORMED)
def test_the_users_page_refuses_a_malformed_address(app, admin_client, address):
    response = admin_client.post(
        "/users",
        data={
            "email": address,
            "name": "Ada",
            "role": "staff",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="e-email"' in page
    assert "like name@example.com" in page
    with app.app_context():
        assert db.session.scalars(select(User.email).where(User.name == "Ada")).all() == []


@pytest.mark.parametrize("address", WELL_FORMED)
def test_the_users_page_accepts_well_formed_addresses(app, admin_client, address):
    response = admin_client.post(
        "/users",
        data={
            "email": address,
            "name": "Ada",
            "role": "staff",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalars(select(User.email).where(User.name == "Ada")).all() == [
            address.lower()
        ]


def test_the_cli_refuses_a_malformed_address_and_says_why(app, runner):
    result = runner.invoke(
        args=["create-user", "ada..lovelace@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code != 0
    assert "two periods in a row" in result.output


@pytest.fixture
def sandbox_app(app_factory):
    return app_factory(WEBAPP_SANDBOX=True, SANDBOX_RECEIVER_URL="http://127.0.0.1:9/never")


@pytest.mark.parametrize("address", MALFORMED)
def test_the_sandbox_booking_form_refuses_a_malformed_address(sandbox_app, address):
    response, _form = book(sandbox_app.test_client(), sandbox_app, email=address)
    assert response.status_code == 422
    assert "like name@example.com" in response.get_data(as_text=True)
    assert outbox_rows(sandbox_app) == []


def test_the_sandbox_booking_form_accepts_an_internationalised_address(sandbox_app):
    response, _form = book(sandbox_app.test_client(), sandbox_app, email="用户@例子.广告")
    assert response.status_code == 303
    assert len(outbox_rows(sandbox_app)) == 1


def test_the_check_never_asks_the_dns(monkeypatch, admin_client):
    from email_validator import deliverability

    def no_dns(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("an email check queried the DNS")

    monkeypatch.setattr(deliverability, "validate_email_deliverability", no_dns)
    response = admin_client.post(
        "/users",
        data={
            "email": "fresh@no-such-domain-anywhere.example",
            "name": "Fresh",
            "role": "staff",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        },
    )
    assert response.status_code in (302, 303)
