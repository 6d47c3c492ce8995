"""Failed sign-ins: at most LIMIT per account and per address in the window, then 429."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.support import factories
from webapp.auth import passwords, throttle
from webapp.extensions import db
from webapp.models import FailedSignIn, utcnow

RIGHT = factories.PASSWORD
WRONG = "definitely the wrong password"


def attempt(client, email, password, address):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_per_account_limit_then_429_with_retry_after(client, admin):
    for n in range(10):
        assert attempt(client, "admin@example.com", WRONG, f"10.0.0.{n + 1}").status_code == 422
    # the 11th, from yet another address and even with the right password, waits
    response = attempt(client, "ADMIN@example.com", RIGHT, "10.0.9.9")
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 850 <= retry_after <= 900
    html = response.get_data(as_text=True)
    assert "Too many failed sign-ins" in html
    assert "Wait about 15 minutes" in html
    assert client.get("/tokens").status_code == 302  # not signed in


def test_per_account_limit_leaves_other_accounts_alone(client, admin, staff):
    for n in range(10):
        attempt(client, "admin@example.com", WRONG, f"10.0.0.{n + 1}")
    assert attempt(client, "staff@example.com", RIGHT, "10.0.8.8").status_code == 302


def test_per_address_limit_then_429(client, admin):
    for n in range(10):
        response = attempt(client, f"nobody{n}@example.com", WRONG, "192.0.2.7")
        assert response.status_code == 422
    response = attempt(client, "admin@example.com", RIGHT, "192.0.2.7")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    # the same account from another address is not affected
    assert attempt(client, "admin@example.com", RIGHT, "192.0.2.8").status_code == 302


def test_throttle_is_checked_before_hashing(client, admin, monkeypatch):
    calls = []
    real = passwords.check_password_hash

    def counting(password_hash, password):
        calls.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(passwords, "check_password_hash", counting)
    for n in range(10):
        attempt(
            client, "admin@example.com" if n % 2 else f"x{n}@example.com", WRONG, "198.51.100.1"
        )
    assert len(calls) == 10  # unknown emails are hashed too (no timing difference)
    for _ in range(3):
        assert attempt(client, "admin@example.com", RIGHT, "198.51.100.1").status_code == 429
    assert len(calls) == 10  # throttled attempts cost no hash


def test_throttled_attempts_do_not_extend_the_wait(app, client, admin):
    for n in range(10):
        attempt(client, "admin@example.com", WRONG, f"10.0.0.{n + 1}")
    for _ in range(5):
        attempt(client, "admin@example.com", WRONG, "10.0.5.5")
    with app.app_context():
        count = db.session.execute(
            select(func.count(FailedSignIn.id)).where(FailedSignIn.key == "email:admin@example.com")
        ).scalar_one()
    assert count == 10


def test_success_clears_the_accounts_failures(client, admin, auth):
    for n in range(9):
        assert attempt(client, "admin@example.com", WRONG, f"10.0.1.{n + 1}").status_code == 422
    assert attempt(client, "admin@example.com", RIGHT, "10.0.2.1").status_code == 302
    auth.logout()
    for n in range(9):
        assert attempt(client, "admin@example.com", WRONG, f"10.0.3.{n + 1}").status_code == 422
    # without the clearing the account would have 18 failures and be throttled
    assert attempt(client, "admin@example.com", RIGHT, "10.0.4.1").status_code == 302


def test_limit_comes_from_config(admin, app_factory):
    app = app_factory(LOGIN_THROTTLE_LIMIT=3)
    client = app.test_client()
    for _ in range(3):
        assert attempt(client, "admin@example.com", WRONG, "10.9.9.9").status_code == 422
    assert attempt(client, "admin@example.com", RIGHT, "10.9.9.9").status_code == 429


def test_failures_leave_the_window(app):
    keys = ["email:someone@example.com", "ip:203.0.113.5"]
    now = utcnow()
    with app.app_context():
        throttle.record_failure(keys[:1], now=now - timedelta(minutes=16))
        for _ in range(9):
            throttle.record_failure(keys, now=now - timedelta(minutes=10))
        # 9 inside the window (the 10th is older than 15 minutes): not throttled
        assert throttle.retry_after(keys, now=now) is None
        throttle.record_failure(keys, now=now - timedelta(minutes=5))
        # 10 inside: throttled until the oldest of them (10 minutes ago) leaves the window
        assert throttle.retry_after(keys, now=now) == 5 * 60
        assert throttle.retry_after(keys, now=now + timedelta(minutes=5, seconds=1)) is None


def test_prune_deletes_only_old_rows(app):
    now = utcnow()
    with app.app_context():
        # Rows written directly: record_failure itself prunes now and then, at random.
        db.session.add(FailedSignIn(key="ip:a", at=now - timedelta(minutes=30)))
        db.session.add(FailedSignIn(key="ip:b", at=now - timedelta(minutes=1)))
        db.session.commit()
        assert throttle.prune(now=now) == 1
        keys = db.session.execute(select(FailedSignIn.key)).scalars().all()
    assert keys == ["ip:b"]


def test_address_keys():
    assert throttle.address_key("192.0.2.1") == "ip:192.0.2.1"
    assert throttle.address_key("::ffff:192.0.2.1") == "ip:192.0.2.1"
    # one IPv6 host owns a whole /64, so it is counted as one address
    assert throttle.address_key("2001:db8:1:2::1") == throttle.address_key("2001:db8:1:2:ffff::9")
    assert throttle.address_key("2001:db8:1:2::1") != throttle.address_key("2001:db8:1:3::1")
    assert throttle.address_key(None) == "ip:unknown"
    assert throttle.account_key("  Someone@Example.COM ") == "email:someone@example.com"
