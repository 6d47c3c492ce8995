"""The pure HMAC check against Cronofy's published example (docs/cronofy.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from webapp.webhooks.signatures import HEADER, header_values, is_authentic, sign

PUBLISHED_SECRET = "CRN_NggYusqPGLxwjw5FHOJYOqSrTPNXy8WQf14OID"
PUBLISHED_BODY = b'{"example":"well-known"}'
PUBLISHED_HEADER = "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0="
OTHER_SECRET = "CRN_another_secret_for_rotation"


def independent_signature(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_published_example_computed_independently():
    assert len(PUBLISHED_BODY) == 24
    assert independent_signature(PUBLISHED_BODY, PUBLISHED_SECRET) == PUBLISHED_HEADER


def test_sign_matches_published_example():
    assert sign(PUBLISHED_BODY, PUBLISHED_SECRET) == PUBLISHED_HEADER


def test_published_example_is_authentic():
    assert is_authentic(PUBLISHED_BODY, PUBLISHED_HEADER, [PUBLISHED_SECRET])


def test_header_name():
    assert HEADER == "Cronofy-HMAC-SHA256"


def test_any_configured_secret_matches():
    assert is_authentic(PUBLISHED_BODY, PUBLISHED_HEADER, [OTHER_SECRET, PUBLISHED_SECRET])
    assert is_authentic(PUBLISHED_BODY, PUBLISHED_HEADER, [PUBLISHED_SECRET, OTHER_SECRET])
    assert not is_authentic(PUBLISHED_BODY, PUBLISHED_HEADER, [OTHER_SECRET])


@pytest.mark.parametrize(
    "template",
    ["{wrong},{right}", "{right},{wrong}", "{wrong}, {right}", "{right} ,{wrong}", " {right} "],
)
def test_several_header_values_with_and_without_spaces(template):
    right = independent_signature(PUBLISHED_BODY, PUBLISHED_SECRET)
    wrong = independent_signature(PUBLISHED_BODY, OTHER_SECRET)
    header = template.format(right=right, wrong=wrong)
    assert is_authentic(PUBLISHED_BODY, header, [PUBLISHED_SECRET])
    assert not is_authentic(PUBLISHED_BODY, header.replace(right, "x"), [PUBLISHED_SECRET])


def test_rotation_header_matches_either_configured_secret():
    header = ", ".join(independent_signature(PUBLISHED_BODY, s) for s in ("CRN_old", "CRN_new"))
    assert is_authentic(PUBLISHED_BODY, header, ["CRN_new"])
    assert is_authentic(PUBLISHED_BODY, header, ["CRN_old"])
    assert not is_authentic(PUBLISHED_BODY, header, ["CRN_other"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        " ",
        ",",
        " , ",
        "garbage",
        "5DxentQi5YSXODEzTVv06sRwJ3pULIz1KrYv20qxEK0",  # missing padding
        "5dxentqi5ysxodeztvv06srwj3puliz1kryv20qxek0=",  # wrong case
        PUBLISHED_HEADER + "x",
        "sha256=" + PUBLISHED_HEADER,
        "ünïcode≠ascii",
        "\x00" * 44,
    ],
)
def test_wrong_empty_and_garbage_headers_are_refused(header):
    assert not is_authentic(PUBLISHED_BODY, header, [PUBLISHED_SECRET])


def test_changed_body_is_refused():
    assert not is_authentic(b'{"example":"well-known"} ', PUBLISHED_HEADER, [PUBLISHED_SECRET])
    assert not is_authentic(b'{"example": "well-known"}', PUBLISHED_HEADER, [PUBLISHED_SECRET])


def test_no_secrets_means_nothing_is_authentic():
    assert not is_authentic(PUBLISHED_BODY, PUBLISHED_HEADER, [])


def test_header_values_split():
    assert header_values("a, b,c ,, ") == ["a", "b", "c"]
    assert header_values(None) == []
