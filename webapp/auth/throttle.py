"""Failed sign-in throttle, shared by every worker and host through the FailedSignIn table.

Each failure is counted three ways over a sliding window (LOGIN_THROTTLE_WINDOW):
- per (account, client address) pair: LOGIN_THROTTLE_LIMIT failures pause that pair, so
  someone guessing from one place is stopped without touching anyone else;
- per client address, with the higher LOGIN_THROTTLE_ADDRESS_LIMIT, so one address cannot
  spray many accounts, while colleagues behind the same address keep signing in when
  someone else gets their own password wrong;
- per account, from every address: never a lock-out (anyone could then lock anyone out),
  but a progressive slow-down. After LOGIN_THROTTLE_ACCOUNT_FREE failures each further one
  makes the account wait a little longer before the next try (1 s, 2 s, 4 s, ... up to
  LOGIN_THROTTLE_ACCOUNT_MAX_DELAY), so a guesser spread over many addresses gets a few
  hundred tries a day and the right person with the right password still gets in.

Callers check `retry_after` BEFORE hashing a password, so a throttled guess costs the
server a few indexed queries and no hash.
"""

from __future__ import annotations

import ipaddress
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import FailedSignIn, utcnow

# Pruning scans the table, so it runs on a share of failures rather than on each one.
PRUNE_PROBABILITY = 0.1
KEY_MAX_LENGTH = 300
PAIR_PREFIX = "pair:"


@dataclass(frozen=True)
class Keys:
    """The three counters one sign-in attempt belongs to."""

    account: str
    address: str
    pair: str

    def all(self) -> tuple[str, str, str]:
        return (self.account, self.address, self.pair)


def account_key(email: str) -> str:
    return ("email:" + email.strip().lower())[:KEY_MAX_LENGTH]


def address_key(remote_addr: str | None) -> str:
    """The key for a client address; IPv6 clients are counted per /64, which one host owns."""
    text = (remote_addr or "unknown").strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ("ip:" + text)[:KEY_MAX_LENGTH]
    if address.version == 6 and address.ipv4_mapped is None:
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    if address.version == 6 and address.ipv4_mapped is not None:
        return f"ip:{address.ipv4_mapped}"
    return f"ip:{address}"


def _pair_prefix(email: str) -> str:
    # The address part comes last, so that one prefix finds every pair of an account.
    return PAIR_PREFIX + email.strip().lower() + " "


def keys_for(email: str, remote_addr: str | None) -> Keys:
    pair = (_pair_prefix(email) + address_key(remote_addr))[:KEY_MAX_LENGTH]
    return Keys(account_key(email), address_key(remote_addr), pair)


def _setting(name: str) -> int:
    return int(current_app.config[name])


def _window() -> timedelta:
    window = current_app.config["LOGIN_THROTTLE_WINDOW"]
    return window if isinstance(window, timedelta) else timedelta(seconds=float(window))


def _limit_wait(key: str, limit: int, now: datetime) -> float | None:
    """Seconds until `key` has fewer than `limit` failures in the window, or None if it has.

    It is free again once the limit-th most recent failure leaves the window, so that one
    row (found through the (key, at) index) tells both whether and for how long.
    """
    if limit < 1:
        return None
    window = _window()
    oldest_counted = db.session.execute(
        select(FailedSignIn.at)
        .where(FailedSignIn.key == key, FailedSignIn.at > now - window)
        .order_by(FailedSignIn.at.desc())
        .offset(limit - 1)
        .limit(1)
    ).scalar_one_or_none()
    if oldest_counted is None:
        return None
    return (oldest_counted + window - now).total_seconds()


def account_delay(failures: int) -> float:
    """How long an account waits after its latest failure, given its failures in the window."""
    free = _setting("LOGIN_THROTTLE_ACCOUNT_FREE")
    if failures <= free:
        return 0.0
    return float(
        min(2 ** min(failures - free - 1, 30), _setting("LOGIN_THROTTLE_ACCOUNT_MAX_DELAY"))
    )


def _counts(key: str, now: datetime) -> tuple[int, datetime | None]:
    count, latest = db.session.execute(
        select(func.count(FailedSignIn.id), func.max(FailedSignIn.at)).where(
            FailedSignIn.key == key, FailedSignIn.at > now - _window()
        )
    ).one()
    return int(count), latest


def _account_wait(key: str, now: datetime) -> float | None:
    failures, latest = _counts(key, now)
    delay = account_delay(failures)
    if latest is None or delay <= 0:
        return None
    wait = (latest + timedelta(seconds=delay) - now).total_seconds()
    return wait if wait > 0 else None


def retry_after(keys: Keys, now: datetime | None = None) -> int | None:
    """Seconds to wait before this account may be tried from this address, or None."""
    now = now or utcnow()
    waits = [
        _limit_wait(keys.pair, _setting("LOGIN_THROTTLE_LIMIT"), now),
        _limit_wait(keys.address, _setting("LOGIN_THROTTLE_ADDRESS_LIMIT"), now),
        _account_wait(keys.account, now),
    ]
    longest = max((wait for wait in waits if wait is not None), default=None)
    if longest is None:
        return None
    return max(1, math.ceil(longest))


def tries_left(keys: Keys, now: datetime | None = None) -> int:
    """Failed tries this account may still make from this address before a pause."""
    now = now or utcnow()
    left = [
        _setting("LOGIN_THROTTLE_LIMIT") - _counts(keys.pair, now)[0],
        _setting("LOGIN_THROTTLE_ADDRESS_LIMIT") - _counts(keys.address, now)[0],
        _setting("LOGIN_THROTTLE_ACCOUNT_FREE") - _counts(keys.account, now)[0],
    ]
    return max(0, min(left))


def record_failure(keys: Keys, now: datetime | None = None) -> None:
    """Count one failed attempt against the account, the address and the pair."""
    now = now or utcnow()
    with write_transaction():
        db.session.add_all(FailedSignIn(key=key, at=now) for key in keys.all())
        if random.random() < PRUNE_PROBABILITY:
            _delete_older_than(now - _window())


def forget_account(email: str) -> int:
    """Forget an account's failures and its pairs' (it has just signed in, or an admin
    cleared them); its addresses' own counts stay. Runs in the caller's transaction.
    Returns how many failures the account had."""
    db.session.execute(
        delete(FailedSignIn).where(
            FailedSignIn.key.startswith(_pair_prefix(email), autoescape=True)
        )
    )
    result = db.session.execute(delete(FailedSignIn).where(FailedSignIn.key == account_key(email)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def recent_failures(emails: list[str], now: datetime | None = None) -> dict[str, int]:
    """Each account's failures inside the window, for the accounts that have any."""
    now = now or utcnow()
    keys = {account_key(email): email for email in emails}
    if not keys:
        return {}
    rows = db.session.execute(
        select(FailedSignIn.key, func.count(FailedSignIn.id))
        .where(FailedSignIn.key.in_(keys), FailedSignIn.at > now - _window())
        .group_by(FailedSignIn.key)
    ).all()
    return {keys[key]: int(count) for key, count in rows}


def prune(now: datetime | None = None) -> int:
    """Delete failures that have left the window; returns how many went."""
    with write_transaction():
        return _delete_older_than((now or utcnow()) - _window())


def _delete_older_than(cutoff: datetime) -> int:
    result = db.session.execute(delete(FailedSignIn).where(FailedSignIn.at <= cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
