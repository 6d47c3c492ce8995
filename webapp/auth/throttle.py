"""Failed sign-in throttle, shared by every worker and host through the FailedSignIn table.

Failures are counted per account ("email:<address>") and per client address
("ip:<address>") over a sliding window. Callers check `retry_after` BEFORE hashing a
password, so a throttled guess costs the server one indexed query and no hash.
"""

from __future__ import annotations

import ipaddress
import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import FailedSignIn, utcnow

# Pruning scans the table, so it runs on a share of failures rather than on each one.
PRUNE_PROBABILITY = 0.1
KEY_MAX_LENGTH = 300


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


def keys_for(email: str, remote_addr: str | None) -> list[str]:
    return [account_key(email), address_key(remote_addr)]


def _limit() -> int:
    return int(current_app.config["LOGIN_THROTTLE_LIMIT"])


def _window() -> timedelta:
    window = current_app.config["LOGIN_THROTTLE_WINDOW"]
    return window if isinstance(window, timedelta) else timedelta(seconds=float(window))


def retry_after(keys: Iterable[str], now: datetime | None = None) -> int | None:
    """Seconds to wait before any of these keys may try again, or None when none is throttled.

    A key is throttled while it has at least LIMIT failures inside the window. It is free
    again once the LIMIT-th most recent of them leaves the window, so that one row (found
    through the (key, at) index) tells both whether and for how long.
    """
    now = now or utcnow()
    limit, window = _limit(), _window()
    if limit < 1:
        return None
    longest: float | None = None
    for key in keys:
        oldest_counted = db.session.execute(
            select(FailedSignIn.at)
            .where(FailedSignIn.key == key, FailedSignIn.at > now - window)
            .order_by(FailedSignIn.at.desc())
            .offset(limit - 1)
            .limit(1)
        ).scalar_one_or_none()
        if oldest_counted is not None:
            wait = (oldest_counted + window - now).total_seconds()
            longest = wait if longest is None else max(longest, wait)
    if longest is None:
        return None
    return max(1, math.ceil(longest))


def record_failure(keys: Iterable[str], now: datetime | None = None) -> None:
    """Count one failed attempt against every key (one transaction)."""
    now = now or utcnow()
    with write_transaction():
        db.session.add_all(FailedSignIn(key=key, at=now) for key in keys)
        if random.random() < PRUNE_PROBABILITY:
            _delete_older_than(now - _window())


def forget_account(email: str) -> None:
    """Forget an account's failures (it has just signed in); its address's failures stay.

    Runs inside the caller's write transaction, as part of the sign-in.
    """
    db.session.execute(delete(FailedSignIn).where(FailedSignIn.key == account_key(email)))


def prune(now: datetime | None = None) -> int:
    """Delete failures that have left the window; returns how many went."""
    with write_transaction():
        return _delete_older_than((now or utcnow()) - _window())


def _delete_older_than(cutoff: datetime) -> int:
    result = db.session.execute(delete(FailedSignIn).where(FailedSignIn.at <= cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
