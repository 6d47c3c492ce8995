"""Claim tokens for Cronofy Public Links (docs/cronofy.md). Pure: no Flask, no database.

Every input (credentials, lifetime, the clock, the jti) is an argument, so the rules can be
tested exactly, and the caller owns where the secret comes from. Signing is PyJWT's, with
the algorithm fixed to HS256.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple

import jwt

AUDIENCE = "public_link"
ALGORITHM = "HS256"
MAX_LIFETIME_SECONDS = 4 * 60 * 60
# Cronofy refuses an iat in the future; issuing slightly in the past absorbs clock skew.
IAT_BACKDATE_SECONDS = 45
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "jti"]


def new_jti() -> str:
    """A random (version 4) UUID in its canonical text form."""
    return str(uuid.uuid4())


class ClaimToken(NamedTuple):  # immutable, and cheaper to make than a frozen dataclass
    token: str
    jti: str
    issued_at: int
    expires_at: int


def mint_claim_token(
    *,
    embed_public_key: str,
    embed_secret: str,
    now: datetime,
    lifetime_seconds: int,
    jti: str | None = None,
) -> ClaimToken:
    """Return a signed claim token valid from a little before `now` for the lifetime.

    `exp - iat` never exceeds four hours, whatever lifetime is asked for, and `iat` is
    never after `now`.
    """
    if not embed_public_key or not embed_secret:
        raise ValueError("the Embed public key and Embed Secret are both required")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    lifetime = max(1, min(int(lifetime_seconds), MAX_LIFETIME_SECONDS))
    now_seconds = int(now.timestamp())
    issued_at = now_seconds - IAT_BACKDATE_SECONDS
    expires_at = issued_at + lifetime
    if expires_at <= now_seconds:
        # A lifetime shorter than the back-dating would be born expired.
        expires_at = now_seconds + 1
        issued_at = max(issued_at, expires_at - lifetime)
    token_id = jti or new_jti()
    claims = {
        "iss": embed_public_key,
        "iat": issued_at,
        "exp": expires_at,
        "aud": AUDIENCE,
        "jti": token_id,
    }
    # The algorithm is fixed here, never taken from input.
    token = jwt.encode(claims, embed_secret, algorithm=ALGORITHM)
    return ClaimToken(token=token, jti=token_id, issued_at=issued_at, expires_at=expires_at)
