"""The pure claim-token minter, checked against docs/cronofy.md with a fixed clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from webapp.tracking.tokens import MAX_LIFETIME_SECONDS, mint_claim_token

KEY = "EMB_example_public_key"
SECRET = "ESK_example_secret_0123456789abcdef"
NOW = datetime(2030, 5, 17, 12, 0, 0, tzinfo=UTC)


def decode(token: str, secret: str = SECRET) -> dict:
    """Decode as Cronofy would, against the real clock, with no leeway."""
    return jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience="public_link",
        options={"require": ["exp", "iat", "iss", "aud", "jti"]},
        leeway=0,
    )


def claims_of(token: str) -> dict:
    """Signature, algorithm, audience and presence checked; the times are the test's to check."""
    return jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="public_link",
        options={
            "require": ["exp", "iat", "iss", "aud", "jti"],
            "verify_exp": False,
            "verify_iat": False,
        },
    )


def mint(**overrides):
    arguments = {
        "embed_public_key": KEY,
        "embed_secret": SECRET,
        "now": NOW,
        "lifetime_seconds": 14400,
    }
    arguments.update(overrides)
    return mint_claim_token(**arguments)


def test_token_carries_every_required_claim():
    claim = mint()
    claims = claims_of(claim.token)
    assert jwt.get_unverified_header(claim.token)["alg"] == "HS256"
    assert claims["iss"] == KEY
    assert claims["aud"] == "public_link"
    assert isinstance(claims["iat"], int) and isinstance(claims["exp"], int)
    assert uuid.UUID(claims["jti"])
    assert claims["jti"] == claim.jti
    assert (claims["iat"], claims["exp"]) == (claim.issued_at, claim.expires_at)


def test_iat_is_slightly_in_the_past_and_never_in_the_future():
    claims = claims_of(mint().token)
    now = int(NOW.timestamp())
    assert claims["iat"] <= now
    assert 10 <= now - claims["iat"] <= 120
    assert claims["exp"] > now


def test_lifetime_is_respected_and_capped_at_four_hours():
    for ttl in (60, 600, 3600, 14400):
        claims = claims_of(mint(lifetime_seconds=ttl).token)
        assert claims["exp"] - claims["iat"] == ttl
    capped = claims_of(mint(lifetime_seconds=10 * 3600).token)
    assert capped["exp"] - capped["iat"] <= MAX_LIFETIME_SECONDS == 14400


def test_token_minted_now_passes_a_strict_decode_and_expires():
    now = datetime.now(UTC)
    claims = decode(mint(now=now, lifetime_seconds=600).token)
    assert claims["iat"] <= int(now.timestamp()) < claims["exp"]
    stale = mint(now=now - timedelta(seconds=700), lifetime_seconds=600)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(stale.token)


def test_a_tiny_lifetime_is_still_born_valid():
    claims = claims_of(mint(lifetime_seconds=1).token)
    assert claims["iat"] <= int(NOW.timestamp()) < claims["exp"]
    assert claims["exp"] - claims["iat"] <= 14400


def test_jti_is_unique_per_token():
    assert len({mint().jti for _ in range(100)}) == 100


def test_wrong_secret_or_audience_fails():
    token = mint(now=datetime.now(UTC)).token
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, secret="ESK_other_secret_0123456789abcdef")
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            token, SECRET, algorithms=["HS256"], audience="other", options={"verify_exp": False}
        )


def test_refuses_missing_credentials_and_naive_clock():
    with pytest.raises(ValueError):
        mint(embed_secret="")
    with pytest.raises(ValueError):
        mint(embed_public_key="")
    with pytest.raises(ValueError):
        mint(now=datetime(2030, 1, 1))
