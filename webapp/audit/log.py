"""Writing the audit log: `record` adds an entry to the caller's open transaction.

Call `record` inside the `write_transaction()` of the action it describes, so that the
action and its entry commit (or roll back) together. Where the action's own transaction
is out of reach, `record_now` writes the entry in a transaction of its own, after it.

The actor and client address come from the request when there is one: the bearer token's
user on the JSON API, else Flask-Login's signed-in user, and `request.remote_addr` (which
ProxyFix has already corrected when TRUSTED_PROXIES is set). Outside a request (the CLI,
background work) the actor is the system (None) and the address is "cli". A service that
knows better (the user who just signed in, the user a service was handed) passes `actor`.

Nothing secret is ever stored: a `changes` key naming a password, secret, hash or token
keeps the fact that it changed but not the values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import AuditEvent, User, utcnow

CLI_ADDRESS = "cli"
ADDRESS_MAX_LENGTH = 64
NAME_MAX_LENGTH = 300
REDACTED = "[not recorded]"
SECRET_NAME_PARTS = ("password", "secret", "hash", "token")


class _FromRequest:
    def __repr__(self) -> str:
        return "FROM_REQUEST"


FROM_REQUEST: Final = _FromRequest()
Actor = User | int | None | _FromRequest


@dataclass(frozen=True)
class Target:
    """What an action was done to. `name` is what people search for (see subjects.py)."""

    type: str
    id: int | None = None
    name: str | None = None


def request_actor() -> User | None:
    """The user acting in the current request (API token first, then the session), if any."""
    if not has_request_context():
        return None
    api_user = g.get("api_user")
    if isinstance(api_user, User):
        return api_user
    if current_user and current_user.is_authenticated:
        return db.session.get(User, int(current_user.id))  # the loaded user, not its proxy
    return None


def request_address() -> str:
    """The client's address, or "cli" outside a request."""
    if not has_request_context():
        return CLI_ADDRESS
    return (request.remote_addr or "unknown")[:ADDRESS_MAX_LENGTH]


def record(
    action: str,
    target: Target | None = None,
    changes: Mapping[str, Any] | None = None,
    *,
    actor: Actor = FROM_REQUEST,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one entry to the session's open transaction (the caller commits it)."""
    user = _resolve(actor)
    name = ((target.name or "")[:NAME_MAX_LENGTH] or None) if target else None
    entry = AuditEvent(
        at=at or utcnow(),
        actor_id=user.id if user is not None else None,
        actor_email=user.email if user is not None else None,
        address=request_address(),
        action=action,
        target_type=target.type if target else None,
        target_id=target.id if target else None,
        target_name=name,
        changes=safe_changes(changes or {}),
    )
    db.session.add(entry)
    return entry


def record_many(
    action: str,
    items: Iterable[tuple[Target, Mapping[str, Any]]],
    *,
    actor: Actor = FROM_REQUEST,
) -> int:
    """`record` for many targets at once (a bulk import): one multi-row INSERT in the
    caller's transaction instead of an ORM object per entry. Returns how many."""
    user = _resolve(actor)
    common = {
        "at": utcnow(),
        "actor_id": user.id if user is not None else None,
        "actor_email": user.email if user is not None else None,
        "address": request_address(),
        "action": action,
    }
    rows = [
        {
            **common,
            "target_type": target.type,
            "target_id": target.id,
            "target_name": (target.name or "")[:NAME_MAX_LENGTH] or None,
            "changes": safe_changes(changes),
        }
        for target, changes in items
    ]
    if rows:
        db.session.execute(insert(AuditEvent), rows)
    return len(rows)


def record_now(
    action: str,
    target: Target | None = None,
    changes: Mapping[str, Any] | None = None,
    *,
    actor: Actor = FROM_REQUEST,
) -> None:
    """Record in a transaction of its own, for actions whose transaction is out of reach."""
    user = _resolve(actor)  # before the transaction: it may load the user
    with write_transaction():
        record(action, target, changes, actor=user)


def _resolve(actor: Actor) -> User | None:
    if isinstance(actor, _FromRequest):
        return request_actor()
    if isinstance(actor, int) and not isinstance(actor, bool):
        return db.session.get(User, actor)
    return actor if isinstance(actor, User) else None


# -- changes ------------------------------------------------------------------------------


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{field: [before, after]}` for every field whose value differs."""
    changes: dict[str, list[Any]] = {}
    for key in (*before, *(key for key in after if key not in before)):
        old, new = json_safe(before.get(key)), json_safe(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def created(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The changes of something new: `{field: [None, value]}` for every field set (not
    None, False or empty)."""
    return diff({}, {key: value for key, value in values.items() if not _is_blank(value)})


def _is_blank(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, (str, dict, list)) and not value)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def safe_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe changes with every secret-looking field's values replaced by REDACTED."""
    safe: dict[str, Any] = {}
    for key, value in changes.items():
        name = str(key)
        if is_secret_name(name):
            safe[name] = [REDACTED, REDACTED] if isinstance(value, (list, tuple)) else REDACTED
        else:
            safe[name] = json_safe(value)
    return safe


def json_safe(value: Any) -> Any:
    """The value as JSON can hold it: times as ISO-8601 UTC, other unknown types as text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item) for item in value]
    return str(value)
