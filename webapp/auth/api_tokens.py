"""API tokens: created once and shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select

from webapp.audit import actions as audit_actions  # audit log (issue 12 §4)
from webapp.audit.log import record
from webapp.audit.subjects import api_token_target
from webapp.auth.service import (
    NotFound,
    Refused,
    ValidationError,
    get_user,
    has_control_characters,
)
from webapp.database import write_transaction
from webapp.extensions import db
from webapp.models import ApiToken, User, utcnow

TOKEN_PREFIX = "plk_"
NAME_MAX_LENGTH = 100
DEFAULT_NAME = "API token"
# last_used_at is informational; writing it on every call would make reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str) -> str:
    """Create a token for the user and return its only plain copy."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with write_transaction():
        row = ApiToken(
            user_id=user.id,
            name=name.strip()[:NAME_MAX_LENGTH] or DEFAULT_NAME,
            token_hash=hash_token(token),
            prefix=token[:10],
        )
        db.session.add(row)
        db.session.flush()
        # Audit log: whose token and how it is told apart; never the token or its hash.
        changes = {
            "user": [None, user.email],
            "name": [None, row.name],
            "prefix": [None, row.prefix],
        }
        record(audit_actions.API_TOKEN_CREATED, api_token_target(row), changes)
    return token


def authenticate_bearer(token: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == digest)
    ).scalar_one_or_none()
    # The lookup is by hash, so timing says nothing about the token; compare anyway.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        token_id = row.id
        with write_transaction():
            db.session.get(ApiToken, token_id).last_used_at = now  # type: ignore[union-attr]
        row = db.session.get(ApiToken, token_id)
    return row.user if row else None


def create_token(user_id: int, name: str) -> str:
    """Issue a named token for an active user (the tokens page and the CLI); shown once."""
    clean = (name or "").strip()
    if len(clean) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"Use at most {NAME_MAX_LENGTH} characters."})
    if has_control_characters(clean):
        raise ValidationError(
            {"name": "Use letters, digits and punctuation only (no control characters)."}
        )
    user = get_user(user_id)
    if not user.active:
        raise Refused(f"{user.email} is deactivated; reactivate the account first.")
    return issue_token(user, clean)


def tokens_of(user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they explain old failures)."""
    return list(
        db.session.execute(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        ).scalars()
    )


def revoke_token(user_id: int, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; it stops working at once. Idempotent."""
    with write_transaction():
        row = db.session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound("There is no such token.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            changes = {"revoked_at": [None, row.revoked_at]}
            record(audit_actions.API_TOKEN_REVOKED, api_token_target(row), changes)  # audit log
        token_id = row.id
    return db.session.get(ApiToken, token_id)  # type: ignore[return-value]
