"""Email addresses are checked by email-validator (syntax only, no network), not a regex.

Addresses the old patterns let through: doubled, leading or trailing dots, a hyphen or an
underscore where a domain cannot have one, invisible characters, reserved domains. Each is
refused with a reason, for staff accounts (the users page and the CLI) and for invitees on
the sandbox booking form; internationalised addresses are accepted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.sandbox import book, outbox_rows
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


# -- a team's internal domain (staff accounts only) ----------------------------------------

INTERNAL = [
    "ada@corp.local",
    "Ada@IT.Corp.Local",
    "ada@qa.test",
    "ada@nas.home.arpa",
    "ada@mailhost",
]
STILL_MALFORMED_INTERNALLY = [
    "ada..lovelace@corp.local",
    "ada@corp..local",
    "ada@-corp.local",
    "ada@exa_mple.local",
    "ada@corp.local.",
    "@corp.local",
    "ada@localhost",  # no team's mail lives on the server itself
    "ada@corp.invalid",
    "ada@hidden.onion",
]


def add_user(admin_client, address: str):  # type: ignore[no-untyped-def]
    form = {"email": address, "name": "Ada", "role": "staff"}
    form |= {"password": PASSWORD, "password_confirm": PASSWORD}
    return admin_client.post("/users", data=form)


@pytest.mark.parametrize("address", INTERNAL)
def test_staff_may_have_an_address_on_an_internal_domain(app, admin_client, address):
    response = add_user(admin_client, address)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalars(select(User.email).where(User.name == "Ada")).all() == [
            address.lower()
        ]


@pytest.mark.parametrize("address", STILL_MALFORMED_INTERNALLY)
def test_an_internal_domain_still_gets_every_syntax_check(app, admin_client, address):
    response = add_user(admin_client, address)
    assert response.status_code == 422
    assert "like name@example.com" in response.get_data(as_text=True)


def test_the_cli_and_the_sign_in_take_an_internal_address(app, runner, client):
    result = runner.invoke(
        args=["create-user", "ops@corp.local", "--admin", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"email": "ops@corp.local", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("address", ["ada@corp.local", "ada@qa.test", "ada@mailhost"])
def test_invitees_still_need_a_deliverable_address(sandbox_app, address):
    response, _form = book(sandbox_app.test_client(), sandbox_app, email=address)
    assert response.status_code == 422
    assert outbox_rows(sandbox_app) == []


def test_the_two_rules_side_by_side():
    from webapp.emails import email_syntax_problem

    assert email_syntax_problem("ada@corp.local") is not None
    assert email_syntax_problem("ada@corp.local", private_domains=True) is None
    assert email_syntax_problem("ada@example.com") is None
    problem = email_syntax_problem("ada..x@corp.local", private_domains=True)
    assert problem is not None and "two periods in a row" in problem
