"""Issue 9 §4: nobody can lock anybody out of sign-in, and admins can lift a pause.

Ten wrong passwords for an account from any addresses used to make the right password fail
for 15 minutes from everywhere, and one person's failures locked colleagues behind the same
address out (a newcomer locked out the only admin this way).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.support import factories
from webapp.audit import actions
from webapp.extensions import db
from webapp.models import AuditEvent

RIGHT = factories.PASSWORD
WRONG = "definitely the wrong password"


def attempt(client, email, password, address):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_ten_wrong_passwords_from_elsewhere_do_not_stop_the_right_one(app, admin):
    attacker = app.test_client()
    for n in range(10):
        assert attempt(attacker, "admin@example.com", WRONG, f"203.0.113.{n}").status_code == 422
    owner = app.test_client()
    assert attempt(owner, "admin@example.com", RIGHT, "198.51.100.20").status_code == 302
    assert owner.get("/users").status_code == 200


def test_a_colleague_behind_the_same_address_is_not_locked_out(app, admin, staff):
    newcomer, colleague = app.test_client(), app.test_client()
    for _ in range(15):
        attempt(newcomer, "staff@example.com", WRONG, "192.0.2.50")
    # The newcomer's own pair is paused...
    assert attempt(newcomer, "staff@example.com", RIGHT, "192.0.2.50").status_code == 429
    # ...but the only admin, behind the same office address, signs in.
    assert attempt(colleague, "admin@example.com", RIGHT, "192.0.2.50").status_code == 302


def test_the_pause_says_when_to_try_again(app, admin):
    client = app.test_client()
    for _ in range(10):
        attempt(client, "admin@example.com", WRONG, "192.0.2.60")
    response = attempt(client, "admin@example.com", RIGHT, "192.0.2.60")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    html = response.get_data(as_text=True)
    assert re.search(r"Wait about \d+ minutes?, then try again", html)
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[\d:]+Z">', html)


def test_an_admin_clears_a_users_pause(app, admin, staff):
    target = app.test_client()
    for _ in range(10):
        attempt(target, "staff@example.com", WRONG, "192.0.2.70")
    assert attempt(target, "staff@example.com", RIGHT, "192.0.2.70").status_code == 429

    boss = app.test_client()
    assert attempt(boss, "admin@example.com", RIGHT, "198.51.100.1").status_code == 302
    page = boss.get("/users").get_data(as_text=True)
    assert "10 failed sign-ins" in page
    assert f"/users/{staff.id}/sign-in-pause" in page
    assert 'data-confirm="Clear the recent failed sign-ins for staff@example.com?' in page

    assert boss.get(f"/users/{staff.id}/sign-in-pause").status_code == 405  # POST only
    response = boss.post(f"/users/{staff.id}/sign-in-pause", follow_redirects=True)
    assert "Cleared 10 failed sign-ins for staff@example.com" in response.get_data(as_text=True)
    assert attempt(target, "staff@example.com", RIGHT, "192.0.2.70").status_code == 302

    with app.app_context():
        entry = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == actions.USER_SIGN_IN_PAUSE_CLEARED)
        ).scalar_one()
        assert entry.actor_id == admin.id
        assert entry.target_id == str(staff.id) or entry.target_id == staff.id


def test_staff_cannot_clear_a_pause(app, admin, staff):
    client = app.test_client()
    assert attempt(client, "staff@example.com", RIGHT, "198.51.100.2").status_code == 302
    assert client.post(f"/users/{admin.id}/sign-in-pause").status_code == 403
