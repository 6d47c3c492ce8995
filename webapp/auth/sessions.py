"""Server-side sign-in sessions: the cookie carries a random id, a UserSession row its hash.

Flask-Login keeps the user's id in the signed cookie session as usual; the id under
SESSION_KEY must name an open row of that user, or the visitor is signed out. So
signing out, a password change or deactivation (which revoke rows) end a session wherever
its cookie was copied to, and each user sees their open sessions on the account page.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g
from sqlalchemy import ColumnElement, select, update

from webapp.auth import devices
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import User, UserSession, utcnow

SESSION_KEY = "sid"  # the key of the random id in Flask's cookie session
# last_seen_at is informational; writing it on every request would make reads into writes.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
ADDRESS_MAX_LENGTH = 64
CURRENT_SESSION = "user_session_id"  # on flask.g: the signed-in request's session row id


def hash_session_id(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _idle_limit() -> timedelta:
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    return lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=float(lifetime))


def open_session(user_id: int, user_agent: str | None, address: str | None) -> str:
    """Record a new session for the user; returns the id for the cookie (its only copy).

    The user's revoked and long-idle rows go at the same time, so the table stays small.
    """
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction():
        db.session.execute(
            UserSession.__table__.delete().where(
                UserSession.user_id == user_id,
                (UserSession.revoked_at.is_not(None))
                | (UserSession.last_seen_at < now - _idle_limit()),
            )
        )
        db.session.add(
            UserSession(
                user_id=user_id,
                token_hash=hash_session_id(raw),
                created_at=now,
                last_seen_at=now,
                user_agent=devices.summarise(user_agent),
                address=(address or "")[:ADDRESS_MAX_LENGTH],
            )
        )
    return raw


def signed_in_user(user_id_text: str, raw: object) -> User | None:
    """The user an open session belongs to (Flask-Login's user loader), or None.

    Notes the session's row id on flask.g for the request (the live stream checks it every
    heartbeat) and its last-seen time, at most once a minute.
    """
    if not isinstance(raw, str) or not raw or len(raw) > 100 or not user_id_text.isdigit():
        return None
    row = db.session.execute(
        select(UserSession).where(UserSession.token_hash == hash_session_id(raw))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None or str(row.user_id) != user_id_text:
        return None
    if row.last_seen_at < now - _idle_limit():
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    g.setdefault(CURRENT_SESSION, row.id)
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        row_id, user_id = row.id, user.id
        with write_transaction():
            db.session.execute(
                update(UserSession).where(UserSession.id == row_id).values(last_seen_at=now)
            )
        user = db.session.get(User, user_id)
    return user


def current_session_id() -> int | None:
    """The signed-in request's session row id (after Flask-Login loaded the user)."""
    return g.get(CURRENT_SESSION)


def is_open(session_id: int) -> bool:
    """Whether a session is still signed in: not revoked, its user active."""
    row = db.session.execute(
        select(UserSession.revoked_at, User.active)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.id == session_id)
    ).first()
    return row is not None and row.revoked_at is None and bool(row.active)


def _revoke_open(*conditions: ColumnElement[bool], now: datetime | None = None) -> int:
    """Revoke the open sessions that match `conditions`, in the caller's transaction; how many."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.revoked_at.is_(None), *conditions)
        .values(revoked_at=now or utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def revoke_all(user_id: int, keep: int | None = None, now: datetime | None = None) -> int:
    """Revoke the user's open sessions (all but `keep`); in the caller's transaction."""
    conditions = [UserSession.user_id == user_id]
    if keep is not None:
        conditions.append(UserSession.id != keep)
    return _revoke_open(*conditions, now=now)


def revoke(user_id: int, session_id: int) -> bool:
    """Sign one of the user's own sessions out; False when it is not theirs or not open."""
    with write_transaction():
        revoked = _revoke_open(UserSession.id == session_id, UserSession.user_id == user_id)
    return revoked > 0


def revoke_others(user_id: int, keep: int | None) -> int:
    """Sign out everywhere else: every open session of the user but `keep`."""
    with write_transaction():
        return revoke_all(user_id, keep=keep)


def end_session(raw: object) -> None:
    """Sign-out: revoke the session this cookie id names, if it is open."""
    if not isinstance(raw, str) or not raw or len(raw) > 100:
        return
    with write_transaction():
        _revoke_open(UserSession.token_hash == hash_session_id(raw))


def open_sessions_of(user_id: int) -> list[UserSession]:
    """The user's open sessions, most recently seen first."""
    return list(
        db.session.execute(
            select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at >= utcnow() - _idle_limit(),
            )
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        ).scalars()
    )
