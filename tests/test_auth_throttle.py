"""Failed sign-ins: at most LIMIT per account and per address in the window, then 429."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.support import factories
from webapp.auth import passwords, throttle
from webapp.database import write_transaction
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


def test_failures_from_other_addresses_do_not_stop_the_right_password(client, admin):
    """Issue 9 §4: ten wrong passwords from anywhere used to lock the account for everyone."""
    for n in range(10):
        assert attempt(client, "admin@example.com", WRONG, f"10.0.0.{n + 1}").status_code == 422
    assert attempt(client, "ADMIN@example.com", RIGHT, "10.0.9.9").status_code == 302
    assert client.get("/tokens").status_code == 200


def test_pair_limit_then_429_with_retry_after_and_when(client, admin):
    for _ in range(10):
        assert attempt(client, "admin@example.com", WRONG, "10.0.0.1").status_code == 422
    # the 11th from the same address, even with the right password, waits
    response = attempt(client, "admin@example.com", RIGHT, "10.0.0.1")
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 850 <= retry_after <= 900
    html = response.get_data(as_text=True)
    assert "Too many failed sign-ins" in html
    assert "Wait about 15 minutes" in html
    retry_at = re.search(r'<time datetime="([^"]+)"', html).group(1)
    expected = utcnow() + timedelta(seconds=retry_after)
    assert abs(datetime.fromisoformat(retry_at) - expected) < timedelta(seconds=30)
    assert client.get("/tokens").status_code == 302  # not signed in
    # the same account from another address still gets in
    assert attempt(client, "admin@example.com", RIGHT, "10.0.0.2").status_code == 302


def test_the_form_says_how_many_tries_are_left(client, admin):
    first = attempt(client, "admin@example.com", WRONG, "10.0.0.1").get_data(as_text=True)
    assert "9 more failed tries before signing in is paused" in first
    for _ in range(7):
        attempt(client, "admin@example.com", WRONG, "10.0.0.1")
    ninth = attempt(client, "admin@example.com", WRONG, "10.0.0.1").get_data(as_text=True)
    assert "1 more failed try before signing in is paused" in ninth
    tenth = attempt(client, "admin@example.com", WRONG, "10.0.0.1").get_data(as_text=True)
    assert "The next try has to wait" in tenth
    assert "tries before" not in client.get("/login").get_data(as_text=True)


def test_account_is_slowed_down_progressively_not_locked(app, client, admin):
    keys = throttle.keys_for("admin@example.com", "10.1.1.1")
    now = utcnow()
    with app.app_context():
        for n in range(12):
            throttle.record_failure(throttle.keys_for("admin@example.com", f"10.2.0.{n}"), now)
        # 12 failures: two past the free ten, so the account waits 2 s after the last one
        assert throttle.retry_after(keys, now=now) == 2
        assert throttle.retry_after(keys, now=now + timedelta(seconds=2)) is None
        for n in range(20):
            throttle.record_failure(throttle.keys_for("admin@example.com", f"10.3.0.{n}"), now)
        # the delay doubles per failure up to the cap: a pause, never a lock-out
        assert throttle.retry_after(keys, now=now) == 300
        assert throttle.retry_after(keys, now=now + timedelta(seconds=301)) is None
        assert [throttle.account_delay(n) for n in (10, 11, 12, 13, 40)] == [0, 1, 2, 4, 300]


def test_colleague_behind_the_same_address_is_not_locked_out(client, admin, staff):
    """Someone else's failures on another account do not pause a colleague's sign-in..."""
    for _ in range(12):
        attempt(client, "staff@example.com", WRONG, "192.0.2.7")
    assert attempt(client, "admin@example.com", RIGHT, "192.0.2.7").status_code == 302


def test_per_address_limit_then_429(client, admin):
    """...until the address as a whole reaches its higher limit."""
    for n in range(50):
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
        attempt(client, "admin@example.com", WRONG, "198.51.100.1")
        attempt(client, f"x{n}@example.com", WRONG, "198.51.100.1")
    assert len(calls) == 20  # unknown emails are hashed too (no timing difference)
    for _ in range(3):
        assert attempt(client, "admin@example.com", RIGHT, "198.51.100.1").status_code == 429
    assert len(calls) == 20  # throttled attempts cost no hash


def test_throttled_attempts_do_not_extend_the_wait(app, client, admin):
    for _ in range(10):
        attempt(client, "admin@example.com", WRONG, "10.0.0.1")
    for _ in range(5):
        assert attempt(client, "admin@example.com", WRONG, "10.0.0.1").status_code == 429
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
    keys = throttle.keys_for("someone@example.com", "203.0.113.5")
    now = utcnow()
    with app.app_context():
        throttle.record_failure(keys, now=now - timedelta(minutes=16))
        for _ in range(9):
            throttle.record_failure(keys, now=now - timedelta(minutes=10))
        # 9 inside the window (the 10th is older than 15 minutes): not throttled
        assert throttle.retry_after(keys, now=now) is None
        assert throttle.tries_left(keys, now=now) == 1
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
    keys = throttle.keys_for("A@example.com", "192.0.2.1")
    assert keys.pair == "pair:a@example.com ip:192.0.2.1"


def test_forgetting_an_account_keeps_others_and_addresses(app):
    now = utcnow()
    with app.app_context():
        throttle.record_failure(throttle.keys_for("a_%@example.com", "192.0.2.1"), now)
        throttle.record_failure(throttle.keys_for("ab%@example.com", "192.0.2.1"), now)
        with write_transaction():
            assert throttle.forget_account("A_%@example.com") == 1
        keys = sorted(db.session.execute(select(FailedSignIn.key)).scalars())
    assert keys == [
        "email:ab%@example.com",
        "ip:192.0.2.1",
        "ip:192.0.2.1",
        "pair:ab%@example.com ip:192.0.2.1",
    ]
