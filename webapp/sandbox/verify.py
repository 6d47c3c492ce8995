"""The sandbox's claim-token check: every rule of docs/cronofy.md, as Cronofy applies them.

Pure: no Flask, no database. The Embed secret and public key, the clock and the replay
check (`seen_jti`) are arguments, so every rule can be tested exactly.

PyJWT checks the signature, algorithm, issuer, audience and presence of the claims; the
time rules are checked here against the `now` passed in (PyJWT would read the real clock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt

ALGORITHM = "HS256"
AUDIENCE = "public_link"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "jti")
MAX_LIFETIME_SECONDS = 4 * 60 * 60
# Cronofy refuses an iat in the future; a few seconds absorb our own rounding only.
IAT_LEEWAY_SECONDS = 5

OK = "ok"
MISSING = "missing_token"
MALFORMED = "malformed"
WRONG_ALGORITHM = "wrong_algorithm"
BAD_SIGNATURE = "bad_signature"
MISSING_CLAIM = "missing_claim"
WRONG_ISSUER = "wrong_issuer"
WRONG_AUDIENCE = "wrong_audience"
IAT_IN_FUTURE = "iat_in_future"
EXPIRED = "expired"
LIFETIME_TOO_LONG = "lifetime_too_long"
REPLAYED = "replayed"


@dataclass(frozen=True)
class Verdict:
    """The outcome: `reason` is a machine code (OK when accepted), `message` is for people."""

    reason: str
    message: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reason == OK

    @property
    def jti(self) -> str | None:
        return self.claims.get("jti")

    @property
    def expires_at(self) -> int | None:
        return self.claims.get("exp")


def _refuse(reason: str, message: str) -> Verdict:
    return Verdict(reason=reason, message=message)


def verify_claim_token(
    token: str | None,
    *,
    embed_secret: str,
    embed_public_key: str,
    now: datetime,
    seen_jti: Callable[[str], bool],
) -> Verdict:
    """Accept the token only if it passes every rule; otherwise say which rule failed.

    `seen_jti(jti)` answers whether that jti was already used elsewhere (a replay); it is
    called last, only for an otherwise valid token.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not token:
        return _refuse(MISSING, "The link has no claim_token: it did not come from a tracked link.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        return _refuse(MALFORMED, "The claim token is not a well-formed JWT.")
    algorithm = header.get("alg")
    if algorithm != ALGORITHM:
        return _refuse(
            WRONG_ALGORITHM,
            f"The claim token is signed with {algorithm!r}; only HS256 is accepted.",
        )
    try:
        claims = jwt.decode(
            token,
            embed_secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=embed_public_key,
            options={
                "require": list(REQUIRED_CLAIMS),
                "strict_aud": True,
                # The time rules below use the clock passed in, not PyJWT's.
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        return _refuse(
            BAD_SIGNATURE, "The claim token's signature does not match the Embed Secret."
        )
    except jwt.MissingRequiredClaimError as exc:
        return _refuse(MISSING_CLAIM, f"The claim token has no {exc.claim!r} claim.")
    except jwt.InvalidIssuerError:
        return _refuse(
            WRONG_ISSUER, "The claim token's issuer (iss) is not this app's Embed public key."
        )
    except jwt.InvalidAudienceError:
        return _refuse(WRONG_AUDIENCE, f"The claim token's audience (aud) is not {AUDIENCE!r}.")
    except jwt.InvalidTokenError as exc:
        return _refuse(MALFORMED, f"The claim token could not be read: {exc}.")
    return _check_times_and_replay(claims, now, seen_jti)


def _check_times_and_replay(
    claims: dict[str, Any], now: datetime, seen_jti: Callable[[str], bool]
) -> Verdict:
    issued_at, expires_at, jti = claims["iat"], claims["exp"], claims["jti"]
    for name, value in (("iat", issued_at), ("exp", expires_at)):
        if not isinstance(value, int) or isinstance(value, bool):
            return _refuse(MALFORMED, f"The claim token's {name} is not whole seconds.")
    if not isinstance(jti, str) or not jti.strip():
        return _refuse(MALFORMED, "The claim token's jti is not a non-empty string.")
    current = now.timestamp()
    if issued_at > current + IAT_LEEWAY_SECONDS:
        return _refuse(
            IAT_IN_FUTURE,
            f"The claim token was issued {int(issued_at - current)} s in the future (iat); "
            "Cronofy refuses that. Check the server's clock.",
        )
    if expires_at <= current:
        return _refuse(EXPIRED, "The claim token has expired (exp is in the past).")
    if expires_at - issued_at > MAX_LIFETIME_SECONDS:
        return _refuse(
            LIFETIME_TOO_LONG,
            "The claim token lives longer than 4 hours (exp - iat); Cronofy refuses that.",
        )
    if seen_jti(jti):
        return _refuse(
            REPLAYED,
            "This claim token was already used (its jti has been seen): "
            "each click on a tracked link makes a token that works once.",
        )
    return Verdict(reason=OK, message="The claim token is valid.", claims=claims)
