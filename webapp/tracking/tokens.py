"""Claim tokens for Cronofy Public Links (DESIGN §2). Pure: no Flask, no database.

Every input (credentials, lifetime, the clock, the jti) is an argument, so the rules can be
tested exactly, and the caller owns where the secret comes from.

One token is minted per click, on the hottest path, so the JWS is assembled here: a fixed
header `{"alg":"HS256","typ":"JWT"}` (the algorithm is never taken from input), the claims
as compact JSON, an HMAC-SHA256 over both with the Embed Secret. The result is the very
string PyJWT's `jwt.encode(claims, secret, algorithm="HS256")` gives (a test holds it to
that; every test decodes tokens with PyJWT), at a fifth of the cost: PyJWT re-validates the
key, rebuilds the header and re-keys the HMAC on every call.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

AUDIENCE = "public_link"
ALGORITHM = "HS256"
MAX_LIFETIME_SECONDS = 4 * 60 * 60
# Cronofy refuses an iat in the future; issuing slightly in the past absorbs clock skew.
IAT_BACKDATE_SECONDS = 45
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "jti"]
HEADER = {"alg": ALGORITHM, "typ": "JWT"}

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64url(data: bytes) -> bytes:
    """Base64url without padding (RFC 7515 §2)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


# PyJWT's encoding: compact separators, header keys sorted, claims in the order given.
_HEADER_SEGMENT = _b64url(json.dumps(HEADER, separators=(",", ":"), sort_keys=True).encode())


@lru_cache(maxsize=8)
def _keyed_hmac(secret: str) -> hmac.HMAC:
    """The HMAC state after keying, copied per token instead of re-keyed (a few secrets)."""
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


@lru_cache(maxsize=8)
def _json_string(value: str) -> str:
    return json.dumps(value)


def sign_hs256(payload_json: str, secret: str) -> str:
    """A compact JWS of this JSON payload, signed with HMAC-SHA256 under the secret."""
    signing_input = _HEADER_SEGMENT + b"." + _b64url(payload_json.encode())
    mac = _keyed_hmac(secret).copy()
    mac.update(signing_input)
    return (signing_input + b"." + _b64url(mac.digest())).decode("ascii")


def encode_hs256(claims: dict[str, object], secret: str) -> str:
    """A compact JWS of the claims (as PyJWT would serialise them)."""
    return sign_hs256(json.dumps(claims, separators=(",", ":")), secret)


def new_jti() -> str:
    """A random (version 4) UUID in its canonical text form."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


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
    # json.dumps(claims, separators=(",", ":")) of the claims in this order; the strings
    # that may come from outside are JSON-escaped (a generated jti has nothing to escape).
    jti_json = json.dumps(token_id) if jti else f'"{token_id}"'
    payload = (
        f'{{"iss":{_json_string(embed_public_key)},"iat":{issued_at},"exp":{expires_at},'
        f'"aud":"{AUDIENCE}","jti":{jti_json}}}'
    )
    token = sign_hs256(payload, embed_secret)
    return ClaimToken(token=token, jti=token_id, issued_at=issued_at, expires_at=expires_at)
