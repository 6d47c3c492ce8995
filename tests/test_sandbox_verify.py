"""The sandbox's claim-token check: one test per rule of docs/cronofy.md, with a fixed clock."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from webapp.sandbox import verify
from webapp.tracking.tokens import mint_claim_token

PUBLIC_KEY = "EMB_test_verify"
SECRET = "ESK_test_verify_" + "x" * 32
NOW = datetime(2025, 1, 20, 12, 0, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def never_seen(jti: str) -> bool:
    return False


def check(token, now=NOW, seen_jti=never_seen) -> verify.Verdict:
    return verify.verify_claim_token(
        token, embed_secret=SECRET, embed_public_key=PUBLIC_KEY, now=now, seen_jti=seen_jti
    )


def claims(**changes) -> dict:
    base = {
        "iss": PUBLIC_KEY,
        "iat": T - 30,
        "exp": T + 3600,
        "aud": "public_link",
        "jti": str(uuid.uuid4()),
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def hs256(payload: dict, key: str = SECRET) -> str:
    return jwt.encode(payload, key, algorithm="HS256")


def minted(now=NOW, lifetime=3600):
    return mint_claim_token(
        embed_public_key=PUBLIC_KEY, embed_secret=SECRET, now=now, lifetime_seconds=lifetime
    )


def test_a_minted_token_is_accepted():
    token = minted()
    verdict = check(token.token)
    assert verdict.ok, verdict.message
    assert verdict.reason == verify.OK
    assert verdict.jti == token.jti
    assert verdict.expires_at == token.expires_at


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(token):
    verdict = check(token)
    assert verdict.reason == verify.MISSING
    assert "claim_token" in verdict.message


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30"])
def test_malformed_token(token):
    assert check(token).reason == verify.MALFORMED


def test_expired_with_a_fixed_clock():
    token = minted(now=NOW - timedelta(hours=2), lifetime=3600).token
    assert check(token, now=NOW - timedelta(hours=1, minutes=30)).ok
    verdict = check(token)
    assert verdict.reason == verify.EXPIRED
    assert "expired" in verdict.message


def test_expired_exactly_at_exp():
    token = hs256(claims(exp=T))
    assert check(token).reason == verify.EXPIRED
    assert check(token, now=NOW - timedelta(seconds=1)).ok


def test_wrong_audience():
    verdict = check(hs256(claims(aud="something_else")))
    assert verdict.reason == verify.WRONG_AUDIENCE
    assert "public_link" in verdict.message


def test_audience_as_a_list_is_refused():
    assert check(hs256(claims(aud=["public_link"]))).reason == verify.WRONG_AUDIENCE


def test_wrong_issuer():
    verdict = check(hs256(claims(iss="EMB_someone_else")))
    assert verdict.reason == verify.WRONG_ISSUER
    assert "iss" in verdict.message


def test_bad_signature():
    forged = mint_claim_token(
        embed_public_key=PUBLIC_KEY,
        embed_secret="ESK_not_ours_" + "y" * 32,
        now=NOW,
        lifetime_seconds=3600,
    )
    verdict = check(forged.token)
    assert verdict.reason == verify.BAD_SIGNATURE
    assert "signature" in verdict.message


def test_tampered_payload_fails_the_signature():
    header, _payload, signature = minted().token.split(".")
    other = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    assert check(f"{header}.{other}.{signature}").reason == verify.BAD_SIGNATURE


def _unsigned(payload: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def test_alg_none_is_refused():
    verdict = check(_unsigned(claims()))
    assert verdict.reason == verify.WRONG_ALGORITHM
    assert "HS256" in verdict.message


def test_hs512_is_refused_even_with_the_right_secret():
    token = jwt.encode(claims(), SECRET + "y" * 32, algorithm="HS512")
    assert check(token).reason == verify.WRONG_ALGORITHM


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "jti"])
def test_every_claim_is_required(claim):
    verdict = check(hs256(claims(**{claim: None})))
    assert verdict.reason == verify.MISSING_CLAIM
    assert claim in verdict.message


def test_missing_jti():
    payload = claims()
    del payload["jti"]
    assert check(hs256(payload)).reason == verify.MISSING_CLAIM


def test_iat_in_the_future():
    verdict = check(hs256(claims(iat=T + 60, exp=T + 3600)))
    assert verdict.reason == verify.IAT_IN_FUTURE
    assert "future" in verdict.message


def test_iat_a_few_seconds_ahead_is_tolerated():
    assert check(hs256(claims(iat=T + 3))).ok


def test_lifetime_over_four_hours():
    verdict = check(hs256(claims(iat=T - 60, exp=T - 60 + 4 * 3600 + 1)))
    assert verdict.reason == verify.LIFETIME_TOO_LONG
    assert "4 hours" in verdict.message


def test_lifetime_of_exactly_four_hours_is_fine():
    assert check(hs256(claims(iat=T - 60, exp=T - 60 + 4 * 3600))).ok


@pytest.mark.parametrize("field", ["iat", "exp"])
def test_times_must_be_whole_seconds(field):
    value = {"iat": T - 30.5, "exp": T + 3600.5}[field]
    assert check(hs256(claims(**{field: value}))).reason == verify.MALFORMED


def test_replayed_jti():
    token = minted()
    seen: list[str] = []
    verdict = check(token.token, seen_jti=lambda jti: seen.append(jti) or True)
    assert verdict.reason == verify.REPLAYED
    assert seen == [token.jti]
    assert "already used" in verdict.message


def test_replay_is_asked_only_for_otherwise_valid_tokens():
    asked: list[str] = []
    check(hs256(claims(aud="nope")), seen_jti=lambda jti: asked.append(jti) or False)
    assert asked == []


def test_naive_clock_is_a_programming_error():
    with pytest.raises(ValueError):
        check(minted().token, now=NOW.replace(tzinfo=None))
